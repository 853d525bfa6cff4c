// What people did in Slack, carried out after Slack was answered: each click or submission is written
// to the outbox before the acknowledgement, then run through the same engine commands as the API.

import { cancel, extend, revoke } from "../../engine/actions.ts";
import { approve, deny } from "../../engine/decide.ts";
import type { EngineDeps } from "../../engine/engine.ts";
import { listRequestsFor } from "../../engine/queries.ts";
import { submit } from "../../engine/submit.ts";
import { JitflowError } from "../../errors.ts";
import { PermanentDeliveryError, type Sender } from "../../notify/outbox-worker.ts";
import type { Person } from "../../sdk/types.ts";
import { enqueue } from "../../store/outbox.ts";
import { message, section } from "./blocks/build.ts";
import { escapeMrkdwn } from "./blocks/text.ts";
import type { SlackPeople } from "./people.ts";
import { homeTab } from "./render/lists.ts";
import type { SlackApi } from "./slack-api.ts";

export type Inbound =
  | { op: "approve" | "deny"; requestId: string; user: string; reason?: string; channel?: string }
  | { op: "revoke" | "cancel"; requestId: string; user: string; channel?: string }
  | { op: "extend"; requestId: string; user: string; duration: number }
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
  await deps.store.transaction((trx) =>
    enqueue(
      trx,
      [
        {
          kind: "slack.inbound",
          payload: action,
          requestId: "requestId" in action ? action.requestId : null,
          dedupeKey,
        },
      ],
      deps.clock.now(),
    ),
  );
  deps.notify();
}

/** Errors that only say the action was already done (a double click, or a retry after a crash). */
const alreadyDone = new Set(["ALREADY_APPROVED", "INVALID_TRANSITION"]);

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
        if (!(err instanceof PermanentDeliveryError)) throw err;
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
        await extend(deps, { id: action.requestId, actor, duration: action.duration });
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

  return async (payload, row) => {
    const action = payload as unknown as Inbound;
    let actor: Person;
    try {
      actor = await people.person(action.user);
    } catch (err) {
      if (err instanceof JitflowError) return tell(action, err.message);
      throw err;
    }
    try {
      await run(action, actor);
    } catch (err) {
      if (!(err instanceof JitflowError)) throw err;
      // On a second attempt the first may have worked before a crash: "already done" is then no news.
      if (row.attempts > 0 && alreadyDone.has(err.code)) return;
      if (action.op === "home") throw err;
      await tell(action, err.message);
    }
  };
}
