// A Bolt receiver living inside our Hono server: verifies, refuses replays, parses, and answers Slack
// with whatever the listener acknowledged, well inside Slack's 3 seconds.

import type { App, Receiver } from "@slack/bolt";
import type { Context } from "hono";
import type { Logger } from "pino";
import { JitflowError } from "../../errors.ts";
import type { Clock } from "../../lib/clock.ts";
import type { Store } from "../../store/database.ts";
import { forgetSlackSignatures, markSlackSignatureSeen } from "../../store/slack-seen.ts";
import { maxSkewSeconds, verifySlackRequest } from "./verify.ts";

/** If no listener acknowledges by then, Slack is answered with an empty 200 (it gives up at 3 s). */
const ackDeadlineMs = 2500;
/** Slack bodies are small, but a view submission carries the whole view. */
export const maxSlackBodyBytes = 1024 * 1024;

export interface SlackReceiverDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  signingSecret: () => string;
}

type Answer = { status: number; body: unknown };

export class SlackReceiver implements Receiver {
  #app: App | undefined;
  readonly #deps: SlackReceiverDeps;

  constructor(deps: SlackReceiverDeps) {
    this.#deps = deps;
  }

  init(app: App): void {
    this.#app = app;
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {}

  /** The Hono handler for POST /slack/events. */
  async handle(c: Context): Promise<Response> {
    const raw = await c.req.arrayBuffer();
    if (raw.byteLength > maxSlackBodyBytes) {
      throw new JitflowError("BODY_TOO_LARGE", `the request body is larger than ${maxSlackBodyBytes} bytes`);
    }
    const body = Buffer.from(raw).toString("utf8");
    const signature = c.req.header("x-slack-signature");
    verifySlackRequest({
      signingSecret: this.#deps.signingSecret(),
      body,
      timestamp: c.req.header("x-slack-request-timestamp"),
      signature,
      nowMs: this.#deps.clock.now(),
    });
    const retryNum = Number(c.req.header("x-slack-retry-num") ?? "") || undefined;
    if (!(await this.#firstTime(signature as string))) {
      // Slack re-sending the very same signed request is answered, and nothing is done twice.
      if (retryNum) return c.body(null, 200);
      throw new JitflowError("SLACK_REPLAYED", "this signed request was already received");
    }
    const payload = parseBody(body, c.req.header("content-type") ?? "");
    if (payload.type === "url_verification") return c.json({ challenge: payload.challenge });
    if (payload.ssl_check) return c.body(null, 200);
    const answer = await this.#dispatch(payload, retryNum, c.req.header("x-slack-retry-reason"));
    if (answer.body === undefined || answer.body === "") return c.body(null, answer.status as 200);
    if (typeof answer.body === "string") return c.text(answer.body, answer.status as 200);
    return c.json(answer.body, answer.status as 200);
  }

  /** Records the signature; false when it was seen before (a replay). Old ones are forgotten. */
  async #firstTime(signature: string): Promise<boolean> {
    const now = this.#deps.clock.now();
    const inserted = await this.#deps.store.transaction((trx) => markSlackSignatureSeen(trx, signature, now));
    if (Math.random() < 0.01) {
      // Past twice the timestamp window a replay fails the timestamp check anyway.
      await forgetSlackSignatures(this.#deps.store.db, now - 2 * maxSkewSeconds * 1000);
    }
    return inserted;
  }

  async #dispatch(
    body: Record<string, unknown>,
    retryNum: number | undefined,
    retryReason: string | undefined,
  ): Promise<Answer> {
    const app = this.#app;
    if (!app) return { status: 200, body: undefined };
    let acked: (answer: Answer) => void = () => {};
    const ackedPromise = new Promise<Answer>((resolve) => {
      acked = resolve;
    });
    let done = false;
    const ack = async (response?: unknown): Promise<void> => {
      if (done) return;
      done = true;
      acked({ status: 200, body: response });
    };
    const processing = app
      .processEvent({
        body,
        ack,
        ...(retryNum ? { retryNum } : {}),
        ...(retryReason ? { retryReason } : {}),
      })
      .catch((err: unknown) => {
        this.#deps.logger.error({ err, type: body.type }, "Slack listener failed");
      })
      .then(() => ({ status: 200, body: undefined }) as Answer);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<Answer>((resolve) => {
      timer = setTimeout(() => resolve({ status: 200, body: undefined }), ackDeadlineMs);
    });
    try {
      return await Promise.race([ackedPromise, processing, deadline]);
    } finally {
      done = true;
      clearTimeout(timer);
    }
  }
}

/** Slack sends JSON (events), a form with a JSON `payload` (interactions), or a plain form (commands). */
function parseBody(body: string, contentType: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    if (contentType.includes("application/json")) parsed = JSON.parse(body);
    else {
      const form = Object.fromEntries(new URLSearchParams(body));
      parsed = typeof form.payload === "string" ? JSON.parse(form.payload) : form;
    }
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new JitflowError("SLACK_BODY_INVALID", "the request body is not a Slack payload");
  }
  return parsed as Record<string, unknown>;
}
