// What the Slack interactions share: the engine and Slack clients, the people directory, opening the request
// form, who may see a request, the option cache, and small helpers for views and their metadata.

import { createHash } from "node:crypto";
import type { ModalView } from "@slack/types";
import type { WebClient } from "@slack/web-api";
import type { SlackSettings } from "../../../config/loader.ts";
import type { EngineDeps } from "../../../engine/deps.ts";
import { findVisibleRequest, type VisibleRequest } from "../../../engine/engine.ts";
import { type FlowView, flowsFor, prefetchOptions } from "../../../engine/read/flows.ts";
import { JitflowError, messageOf } from "../../../errors.ts";
import { BoundedCache } from "../../../lib/bounded-cache.ts";
import type { Person, PrefetchOption } from "../../../model/types.ts";
import { input, modal, plain } from "../blocks/build.ts";
import { limits } from "../blocks/limits.ts";
import { escapeMrkdwn, truncate } from "../blocks/text.ts";
import type { SlackPeople } from "../people.ts";
import {
  fieldBlockId,
  flowPicker,
  ids,
  loadingView,
  messageView,
  requestForm,
} from "../render/request-form.ts";

/** Option loads answer within this, with whatever is ready; Slack gives up at 3 s. */
const prefetchAnswerMs = 2000;
/**
 * Answers to option loads, by flow, field, person and query (each keystroke is a new query), reused for a
 * minute. A thousand serve everyone typing at once; each holds up to 100 options, so this is what bounds it.
 */
const prefetchCache = { ttlMs: 60_000, maxEntries: 1000 };

export interface ListenerDeps {
  deps: EngineDeps;
  settings: SlackSettings;
  /** For calls that must finish inside Slack's 3 seconds (views.open with a trigger): no retries. */
  interactive: WebClient;
  people: SlackPeople;
}

export const decisionIds = {
  decide: "jf_decide",
  extend: "jf_extend_submit",
  note: "jf:note",
  duration: "jf:extend",
};

/** The shared state and helpers of one Slack app's interactions. */
export type SlackInteractions = ReturnType<typeof createInteractions>;

export function createInteractions(l: ListenerDeps) {
  const { deps, settings, people } = l;
  const client = l.interactive;
  const prefetched = new BoundedCache<string, PrefetchOption[]>({ ...prefetchCache, clock: deps.clock });
  const longValues = new Map<string, string | number>();

  const flowsOf = async (userId: string) => {
    const person = await people.person(userId);
    return { person, flows: flowsFor(deps, person, "slack") };
  };

  /** Opens the request modal at once (Loading…), then fills it: Slack's trigger lasts 3 seconds. */
  async function openRequest(triggerId: string, userId: string, flowName: string | undefined): Promise<void> {
    const opened = await client.views.open({ trigger_id: triggerId, view: loadingView() });
    const viewId = opened.view?.id as string;
    let view: ModalView;
    try {
      const { person, flows } = await flowsOf(userId);
      const wanted = flowName ? flows.find((f) => f.name === flowName) : undefined;
      if (person.role === "guest") {
        view = messageView(
          "Request access",
          "Guests cannot request access. Ask someone in your organisation.",
        );
      } else if (flows.length === 0) {
        view = messageView("Request access", "There are no flows you can request from Slack.");
      } else if (wanted) {
        view = formFor(wanted);
      } else if (flows.length === 1 && !flowName) {
        view = formFor(flows[0] as FlowView);
      } else {
        view = flowPicker(flows, flowName ? `There is no flow "${flowName}" you can request.` : undefined);
      }
    } catch (err) {
      view = messageView("Request access", `:warning: ${escapeMrkdwn(messageOf(err))}`);
    }
    await client.views.update({ view_id: viewId, view });
  }

  /**
   * The request, if the person pressing a button may see it (the engine's one rule); undefined, as for a
   * request that does not exist, if not: a box that would show something of it is opened only for them.
   */
  async function visibleTo(userId: string, requestId: string): Promise<VisibleRequest | undefined> {
    let person: Person;
    try {
      person = await people.person(userId);
    } catch (err) {
      // Someone jitflow cannot tell sees nothing; the engine's path tells them why.
      if (err instanceof JitflowError) return undefined;
      throw err;
    }
    return findVisibleRequest(deps, requestId, person);
  }

  function formFor(flow: FlowView): ModalView {
    return requestForm(flow, deps.config.flows.get(flow.name)?.config.additionalHeaderText);
  }

  async function respondEphemeral(url: string, body: Record<string, unknown>): Promise<void> {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ response_type: "ephemeral", replace_original: false, ...body }),
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) deps.logger.warn({ status: res.status }, "Slack response_url refused the answer");
  }

  const help = (command: string) =>
    [
      `*${command}* — ask for access (opens a form)`,
      `*${command} request FLOW* — ask for access to one flow`,
      `*${command} list* — your requests and access, with revoke and extend`,
      `*${command} whoami* — who jitflow thinks you are, and your role`,
      `*${command} help* — this message`,
    ].join("\n");

  /** Prefetch with a short answer time: a slow hook answers "nothing yet" and fills the cache for the next keystroke. */
  async function loadOptions(
    flow: string,
    field: string,
    person: Awaited<ReturnType<SlackPeople["person"]>>,
    query: string,
  ) {
    const key = `${flow}\u0000${field}\u0000${person.email}\u0000${query}`;
    const hit = prefetched.get(key);
    if (hit) return hit;
    const loading = prefetchOptions(deps, { flow, field, actor: person, query, source: "slack" }).then(
      (found) => {
        prefetched.set(key, found);
        return found;
      },
    );
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<PrefetchOption[]>((resolve) => {
      timer = setTimeout(() => resolve([]), prefetchAnswerMs);
    });
    loading.catch(() => {});
    try {
      return await Promise.race([loading, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Option values travel as JSON; one too long for Slack's 75 characters travels as a hash of itself. */
  function encodeOption(field: string, value: string | number): string {
    const json = JSON.stringify(value);
    if (json.length <= limits.optionValue) return json;
    const key = `h:${createHash("sha256").update(`${field}\u0000${json}`).digest("base64url").slice(0, 40)}`;
    if (longValues.size >= 100_000) longValues.delete(longValues.keys().next().value as string);
    longValues.set(key, value);
    return key;
  }

  /** A choice's value; a long one not remembered here (another replica, a restart) is found by asking again. */
  async function decodeOption(
    flow: string,
    field: string,
    key: string,
    person: Person,
  ): Promise<string | number> {
    if (!key.startsWith("h:")) {
      try {
        return JSON.parse(key) as string | number;
      } catch {
        return key;
      }
    }
    const known = longValues.get(key);
    if (known !== undefined) return known;
    const options = await prefetchOptions(deps, { flow, field, actor: person, query: "", source: "slack" });
    const found = options.find((o) => encodeOption(field, o.value) === key);
    if (found) return found.value;
    throw new JitflowError("FIELD_INVALID", `the choice for "${field}" is no longer offered; choose again`, {
      details: { fields: [{ field, message: "this choice is no longer offered; choose again" }] },
    });
  }

  return {
    deps,
    settings,
    people,
    client,
    flowsOf,
    openRequest,
    visibleTo,
    formFor,
    respondEphemeral,
    help,
    loadOptions,
    encodeOption,
    decodeOption,
  };
}

/** A view's private_metadata: what jitflow put there, or an empty object when it is not JSON. */
export function metadataOf<T>(text: string | undefined): Partial<T> {
  try {
    const value = JSON.parse(text || "{}") as unknown;
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Partial<T>) : {};
  } catch {
    return {};
  }
}

/** Two presses of one button by one person within a few seconds are one click. */
export function clickKey(user: string, op: string, requestId: string): string {
  return `click:${user}:${op}:${requestId}:${Math.floor(Date.now() / 5000)}`;
}

export function noteModal(
  decision: "approve" | "deny",
  requestId: string,
  channel: string | undefined,
): ModalView {
  return modal({
    title: decision === "approve" ? "Approve request" : "Deny request",
    callbackId: decisionIds.decide,
    submit: decision === "approve" ? "Approve" : "Deny",
    privateMetadata: JSON.stringify({ decision, requestId, ...(channel ? { channel } : {}) }),
    blocks: [
      input(
        decisionIds.note,
        "Note to the requester",
        {
          type: "plain_text_input",
          action_id: ids.value,
          multiline: true,
          max_length: 2000,
          placeholder: plain("Optional", limits.placeholder),
        },
        { optional: true },
      ),
    ],
  });
}

/** Field problems from the engine, placed on the form's inputs; undefined when the error is not about one. */
export function formErrors(
  err: JitflowError,
  flow: FlowView | undefined,
): Record<string, string> | undefined {
  if (!flow) return undefined;
  const present = new Set(flow.fields.filter((f) => f.visible).map((f) => fieldBlockId(f.name)));
  if (flow.targets.length > 1) present.add(ids.targetBlock);
  if (flow.durations.length > 0) present.add(ids.durationBlock);
  const errors: Record<string, string> = {};
  const details =
    (err.details as { fields?: { field?: string; message?: string }[] } | undefined)?.fields ?? [];
  for (const d of details) {
    const block = fieldBlockId(d.field ?? "");
    if (present.has(block)) errors[block] = truncate(String(d.message ?? err.message), 150);
  }
  if (err.code === "TARGET_REQUIRED" || err.code === "TARGET_NOT_FOUND") {
    if (present.has(ids.targetBlock)) errors[ids.targetBlock] = truncate(err.message, 150);
  }
  if (err.code === "DURATION_INVALID" || err.code === "DURATION_NOT_ALLOWED") {
    if (present.has(ids.durationBlock)) errors[ids.durationBlock] = truncate(err.message, 150);
  }
  return Object.keys(errors).length > 0 ? errors : undefined;
}
