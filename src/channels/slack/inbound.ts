// What people did in Slack, carried out after Slack was answered: each click or submission is written
// to the outbox before the acknowledgement, then run through the same engine commands as the API.

import { cancel, revoke } from "../../engine/commands/cancel.ts";
import { approve, deny } from "../../engine/commands/decide.ts";
import { extend } from "../../engine/commands/extend.ts";
import { submit } from "../../engine/commands/submit.ts";
import type { EngineDeps } from "../../engine/deps.ts";
import { loadVisibleRequest } from "../../engine/engine.ts";
import { listRequestsFor } from "../../engine/read/requests.ts";
import { DeliveryDeferred, JitflowError, messageOf } from "../../errors.ts";
import type { Person } from "../../model/types.ts";
import type { Sender } from "../../store/outbox.ts";
import { enqueue } from "../../store/outbox.ts";
import { getDecisions, getRequest } from "../../store/requests.ts";
import { message, section } from "./blocks/build.ts";
import { escapeMrkdwn } from "./blocks/text.ts";
import type { SlackPeople } from "./people.ts";
import { homeTab } from "./render/lists.ts";
import { maxAttempts, type SlackApi, slackErrorOf } from "./slack-api.ts";

export type Inbound =
  | { op: "approve" | "deny"; requestId: string; user: string; reason?: string; channel?: string }
  | { op: "revoke" | "cancel"; requestId: string; user: string; channel?: string }
  | { op: "extend"; requestId: string; user: string; duration: number; ifExpiresAt?: number }
  /** A button whose box was not opened: the request does not exist or is not theirs to see. */
  | { op: "look"; requestId: string; user: string; channel?: string }
  | {
      op: "submit";
      requestId: string;
      user: string;
      flow: string;
      target?: string | undefined;
      duration?: number | undefined;
      fields: Record<string, unknown>;
    }
  | { op: "home"; user: string };

/** Durably records an action before Slack is answered; a second copy with the same key is ignored. */
export async function recordInbound(deps: EngineDeps, action: Inbound, dedupeKey?: string): Promise<void> {
  // PostgreSQL text cannot hold NUL; nothing typed into a form needs one.
  const payload = JSON.parse(JSON.stringify(action).replaceAll("\\u0000", "")) as Inbound;
  await deps.store.transaction((trx) =>
    enqueue(
      trx,
      [
        {
          kind: "slack.inbound",
          payload,
          requestId: "requestId" in action ? action.requestId : null,
          dedupeKey,
        },
      ],
      deps.clock.now(),
    ),
  );
  deps.notify();
}

export async function overviewOf(deps: EngineDeps, person: Person) {
  const live = ["pending", "approved", "escalating", "active"] as const;
  const mine = await listRequestsFor(deps, { actor: person, mine: true, state: [...live], limit: 50 });
  const pending = await listRequestsFor(deps, { actor: person, state: ["pending"], limit: 50 });
  return {
    person,
    mine: mine.items,
    toDecide: pending.items.filter((v) => v.requester.email !== person.email),
  };
}

/**
 * Is this refusal only the echo of the same person's own earlier action (a double click, or the same
 * message run again after a crash)? Then there is nothing to tell them.
 */
async function alreadyDoneByThem(deps: EngineDeps, action: Inbound, actor: Person, err: JitflowError) {
  if (err.code !== "ALREADY_APPROVED" && err.code !== "INVALID_TRANSITION") return false;
  if (!("requestId" in action)) return false;
  const row = await getRequest(deps.store.db, action.requestId);
  if (!row) return false;
  if (action.op === "approve" || action.op === "deny") {
    const decisions = await getDecisions(deps.store.db, row.id);
    return decisions.some((d) => d.actor === actor.email && d.decision === action.op);
  }
  if (action.op === "revoke") return row.endedReason === "revoked";
  if (action.op === "cancel") return row.state === "cancelled";
  return false;
}

/**
 * What a person is told of the engine's refusal. For an unknown request, the API's "there is no request
 * ID" would puzzle someone looking at its message; this says no more, and the same whether the request
 * does not exist or is not theirs to see.
 */
function refusalText(action: Inbound, err: JitflowError): string {
  if (err.code === "REQUEST_NOT_FOUND" && action.op !== "submit" && action.op !== "home") {
    return `You cannot act on request ${action.requestId}.`;
  }
  return err.message;
}

export function createInboundSender(
  deps: EngineDeps,
  api: SlackApi,
  people: SlackPeople,
  command: string,
): Sender {
  async function tell(action: Inbound, text: string): Promise<void> {
    const m = message(text, [section(`:warning: ${escapeMrkdwn(text)}`)]);
    if ("channel" in action && action.channel && !action.channel.startsWith("D")) {
      const channel = action.channel;
      try {
        await api.call("chat.postEphemeral", channel, (c) =>
          c.chat.postEphemeral({ channel, user: action.user, text: m.text, blocks: m.blocks }),
        );
        return;
      } catch (err) {
        // A channel the app is not in (a /jitflow list answer): the person hears it directly instead.
        if (!slackErrorOf(err)) throw err;
      }
    }
    await api.call("chat.postMessage", action.user, (c) =>
      c.chat.postMessage({ channel: action.user, text: m.text, blocks: m.blocks }),
    );
  }

  async function run(action: Inbound, actor: Person): Promise<void> {
    switch (action.op) {
      case "approve":
        await approve(deps, { id: action.requestId, actor, reason: action.reason });
        return;
      case "deny":
        await deny(deps, { id: action.requestId, actor, reason: action.reason });
        return;
      case "revoke":
        await revoke(deps, { id: action.requestId, actor });
        return;
      case "cancel":
        await cancel(deps, { id: action.requestId, actor });
        return;
      case "extend":
        await extend(deps, {
          id: action.requestId,
          actor,
          duration: action.duration,
          ifExpiresAt: action.ifExpiresAt,
        });
        return;
      case "look":
        // Looked up again, by the engine: the person hears its answer, as for any other refusal.
        await loadVisibleRequest(deps, action.requestId, actor);
        return;
      case "submit":
        await submit(deps, {
          id: action.requestId,
          actor,
          flow: action.flow,
          target: action.target,
          duration: action.duration,
          fields: action.fields,
          source: "slack",
        });
        return;
      case "home": {
        const view = homeTab(deps.config, await overviewOf(deps, actor), command, deps.clock.now());
        await api.call("views.publish", action.user, (c) => c.views.publish({ user_id: action.user, view }));
        return;
      }
    }
  }

  async function deliver(action: Inbound): Promise<void> {
    let actor: Person;
    try {
      actor = await people.person(action.user);
    } catch (err) {
      if (err instanceof JitflowError && action.op !== "home") return tell(action, err.message);
      throw err;
    }
    try {
      await run(action, actor);
    } catch (err) {
      if (!(err instanceof JitflowError)) throw err;
      if (action.op === "home" || (await alreadyDoneByThem(deps, action, actor, err))) return;
      await tell(action, refusalText(action, err));
    }
  }

  return {
    markEach: true,
    async deliver(payload, row) {
      const action = payload as unknown as Inbound;
      try {
        await deliver(action);
      } catch (err) {
        if (err instanceof DeliveryDeferred || row.attempts + 1 < maxAttempts) throw err;
        // It will never work: say so once instead of retrying for ever.
        deps.logger.error(
          { outboxId: row.id, op: action.op, error: messageOf(err) },
          "Slack action failed for good",
        );
        if (action.op !== "home" && action.op !== "look") {
          await tell(action, `jitflow could not carry out your ${action.op}: ${messageOf(err)}`).catch(
            () => {},
          );
        }
      }
    },
  };
}
