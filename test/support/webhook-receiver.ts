// A real HTTP server standing in for a webhook target: verifies signatures, records calls, holds grants, can fail or stall on demand.

import { once } from "node:events";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { verifySignature } from "../../src/lib/signature.ts";

export interface ReceivedCall {
  action: "escalate" | "deescalate";
  requestId: string;
  target: { name: string; label: string };
  requester: { email: string };
  expiresAt: string | null;
  at: number;
  /** The path the call was sent to, so tests can tell senders apart by URL. */
  path: string;
}

export interface WebhookReceiver {
  url: string;
  calls: ReceivedCall[];
  /** Calls whose signature did not verify (each answered 401). */
  rejected: number;
  /** Who holds what now: "target:email" keys. */
  grants: Set<string>;
  /** Answer the next n calls with this status instead of 200. */
  failNext(n: number, status?: number): void;
  /**
   * From now on, calls with these actions are applied on arrival but answered only by release(),
   * like a target that did the work and is slow to say so. hold() with no action stops holding.
   */
  hold(...actions: ReceivedCall["action"][]): void;
  /** Calls applied and not yet answered. */
  readonly held: readonly ReceivedCall[];
  /** Answers every held call (those whose sender went away are dropped); returns how many. */
  release(): number;
  /** From now on, answer each call (not held) this long after it arrives, like a slow target. */
  answerAfter(ms: number): void;
  close(): Promise<void>;
}

export async function startWebhookReceiver(secret: string, port = 0): Promise<WebhookReceiver> {
  let failures = 0;
  let failStatus = 503;
  let holding = new Set<string>();
  let held: { call: ReceivedCall; res: ServerResponse }[] = [];
  let answerDelayMs = 0;
  const answer = (res: ServerResponse) => {
    if (!res.destroyed) res.writeHead(200, { "content-type": "application/json" }).end("{}");
  };
  const receiver: WebhookReceiver = {
    url: "",
    calls: [],
    rejected: 0,
    grants: new Set(),
    failNext(n, status = 503) {
      failures = n;
      failStatus = status;
    },
    hold(...actions) {
      holding = new Set(actions);
    },
    get held() {
      return held.map((h) => h.call);
    },
    release() {
      const answered = held;
      held = [];
      for (const h of answered) answer(h.res);
      return answered.length;
    },
    answerAfter(ms) {
      answerDelayMs = ms;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString();
      const ok = verifySignature(
        secret,
        {
          timestamp: req.headers["x-jitflow-timestamp"] as string | undefined,
          signature: req.headers["x-jitflow-signature"] as string | undefined,
        },
        raw,
        Date.now(),
      );
      if (!ok) {
        receiver.rejected += 1;
        res.writeHead(401).end();
        return;
      }
      if (failures > 0) {
        failures -= 1;
        res.writeHead(failStatus).end();
        return;
      }
      const body = JSON.parse(raw) as Omit<ReceivedCall, "at" | "path">;
      const call = { ...body, at: Date.now(), path: req.url ?? "/" };
      receiver.calls.push(call);
      const key = `${body.target?.name}:${body.requester?.email}`;
      if (body.action === "escalate") receiver.grants.add(key);
      else if (body.action === "deescalate") receiver.grants.delete(key);
      if (holding.has(body.action)) held.push({ call, res });
      else if (answerDelayMs > 0) setTimeout(() => answer(res), answerDelayMs);
      else answer(res);
    });
  });
  server.listen(port, "127.0.0.1");
  await once(server, "listening");
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return receiver;
}
