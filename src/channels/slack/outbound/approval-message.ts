// A request's approval message: posted where its current step is decided (a channel, or the people of the
// step in a direct or group message), kept up to date as the request changes, and replied to in its thread.

import { currentStep, forwardUndeliverable } from "../../../engine/approval/pending.ts";
import type { EngineDeps } from "../../../engine/deps.ts";
import { decidersOf } from "../../../engine/engine.ts";
import type { LoadedConfig } from "../../../engine/load-config.ts";
import { systemActor } from "../../../engine/read/views.ts";
import { PermanentDeliveryError } from "../../../errors.ts";
import type { EventInfo } from "../../../store/outbox.ts";
import { getPreferences } from "../../../store/preferences.ts";
import { postedDestinations, recordSlackMessage, slackMessagesOf } from "../../../store/slack-messages.ts";
import type { SlackMessage } from "../blocks/build.ts";
import { errorNotice, threadNotice } from "../render/notices.ts";
import { type ApprovalOptions, approvalMessage, type StepNames } from "../render/request-message.ts";
import type { LoadedRequest, OutboundContext } from "./context.ts";

/** Slack's limit of people in a group DM (besides the app). */
const maxGroup = 8;

interface Destination {
  key: string;
  channel?: string;
  emails?: string[];
}

/** The names of a request's steps, in the order they apply (for "step 2 of 2: manager"). */
export function stepNames(
  deps: Pick<EngineDeps, "config">,
  row: { flow: string; steps: number[] | null; step: number },
): StepNames {
  const policy = deps.config.flows.get(row.flow)?.policy ?? [];
  const applicable = row.steps === null ? [row.step] : row.steps;
  return { names: applicable.map((i) => policy[i]?.name ?? `step ${i + 1}`), indices: applicable };
}

export function approvalOptions(config: LoadedConfig, flowName: string): ApprovalOptions {
  const flow = config.flows.get(flowName);
  return {
    minApprovals: flow?.config.approvers?.minApprovals ?? 1,
    quorums: flow?.policy.map((s) => s.quorum) ?? [],
    stepNames: flow?.policy.map((s) => s.name) ?? [],
    allowRevoke: flow?.config.allowRevoke ?? false,
    hidden: new Set(flow?.config.fields.filter((f) => !f.visible).map((f) => f.name)),
    fieldLabels: new Map(flow?.config.fields.map((f) => [f.name, f.label ?? f.name])),
  };
}

/** Posting, updating and replying to a request's approval messages. */
export function approvalMessages(ctx: OutboundContext) {
  const { deps, settings, api, people, load, post } = ctx;

  /**
   * Where a request's approval message goes: the channel of the destination it is at (a step's
   * channel, a backup destination's), or the people deciding its step directly; a request forwarded
   * to a backup destination with people goes to them.
   */
  async function destinations(loaded: LoadedRequest): Promise<Destination[]> {
    const { row } = loaded;
    const step = currentStep(deps, row);
    const destination = step.chain[row.destination];
    if (destination?.channel) return [{ key: destination.channel, channel: destination.channel }];
    let emails: string[];
    if (row.destination > 0) {
      emails = destination?.users ?? [];
    } else {
      const { rules } = await decidersOf(deps, row, loaded.decisions, systemActor);
      emails = rules.users.length > 0 ? rules.users : deps.config.config.users.admins;
      if (!rules.allowSelfApproval) emails = emails.filter((e) => e !== row.requester);
    }
    // People who already decided (an earlier step) are not asked again; those who chose email only
    // are asked by email.
    const decided = new Set(loaded.decisions.map((d) => d.actor));
    const chosen = await getPreferences(deps.store.db, emails);
    emails = [...new Set(emails)].filter((e) => !decided.has(e) && chosen.get(e) !== "email").sort();
    if (emails.length === 0) return [];
    if (emails.length === 1 || emails.length > maxGroup) {
      return emails.map((e) => ({ key: `dm:${e}`, emails: [e] }));
    }
    return [{ key: `group:${emails.join(",")}`, emails }];
  }

  async function conversationFor(d: Destination): Promise<string | undefined> {
    if (d.channel) return d.channel;
    const ids = (await Promise.all((d.emails ?? []).map((e) => people.idOf(e)))).filter(
      (id): id is string => id !== undefined,
    );
    if (ids.length === 0) return undefined;
    if (ids.length === 1) return ids[0];
    const opened = await api.call("conversations.open", d.key, (c) =>
      c.conversations.open({ users: ids.join(",") }),
    );
    return opened.channel?.id;
  }

  /** Posts one destination's approval message and remembers where it went. */
  async function postTo(requestId: string, d: Destination, rendered: SlackMessage): Promise<void> {
    const conversation = await conversationFor(d);
    if (!conversation) return;
    const posted = await post(conversation, rendered);
    await recordSlackMessage(
      deps.store.db,
      { requestId, destination: d.key, channel: posted.channel, ts: posted.ts },
      deps.clock.now(),
    );
  }

  async function postApproval(requestId: string): Promise<void> {
    const loaded = await load(requestId);
    if (!loaded) return;
    // A request decided by a rule before anyone saw it needs no approval message.
    const humanDecided = loaded.decisions.some((d) => !d.actor.startsWith("hook:"));
    if (loaded.row.state !== "pending" && !humanDecided) return;
    const rendered = approvalMessage(
      loaded.view,
      loaded.labels,
      approvalOptions(deps.config, loaded.row.flow),
    );
    const already = new Set(await postedDestinations(deps.store.db, requestId));
    const targets = await destinations(loaded);
    if (targets.length === 0) {
      deps.logger.warn({ requestId, flow: loaded.row.flow }, "no approver to send the approval message to");
    }
    // One approver Slack refuses (deactivated, a bot) must not keep the message from the others.
    const undeliverable: string[] = [];
    for (const d of targets) {
      if (already.has(d.key)) continue;
      try {
        await postTo(requestId, d, rendered);
      } catch (err) {
        if (!(err instanceof PermanentDeliveryError)) throw err;
        if (d.emails && d.emails.length > 1) {
          // A group DM Slack will not open: each approver on their own instead.
          for (const email of d.emails) {
            const single = { key: `dm:${email}`, emails: [email] };
            if (already.has(single.key)) continue;
            try {
              await postTo(requestId, single, rendered);
            } catch (inner) {
              if (!(inner instanceof PermanentDeliveryError)) throw inner;
              undeliverable.push(`${email}: ${inner.message}`);
            }
          }
        } else {
          undeliverable.push(`${d.channel ?? d.emails?.join(", ")}: ${err.message}`);
        }
      }
    }
    if (
      undeliverable.length > 0 &&
      undeliverable.length === targets.length &&
      loaded.row.state === "pending"
    ) {
      // Nobody at this destination can be reached: the next backup destination, if there is one.
      await forwardUndeliverable(deps, requestId, loaded.row.destination);
    }
    if (undeliverable.length > 0) {
      deps.logger.error({ requestId, undeliverable }, "approval message could not be delivered");
      if (settings.errorChannel) {
        await post(
          settings.errorChannel,
          errorNotice(
            {
              id: requestId,
              type: "slack.undeliverable",
              actor: "jitflow",
              at: deps.clock.now(),
              data: { error: `the approval message could not be delivered to ${undeliverable.join("; ")}` },
            },
            loaded.view,
            loaded.labels,
          ),
        );
      }
    }
  }

  async function updateApproval(requestId: string): Promise<void> {
    const posted = await slackMessagesOf(deps.store.db, requestId);
    if (posted.length === 0) return;
    const loaded = await load(requestId);
    if (!loaded) return;
    const rendered = approvalMessage(
      loaded.view,
      loaded.labels,
      approvalOptions(deps.config, loaded.row.flow),
    );
    for (const p of posted) {
      await api.call("chat.update", p.channel, (c) =>
        c.chat.update({ channel: p.channel, ts: p.ts, text: rendered.text, blocks: rendered.blocks }),
      );
    }
    // A new step or a backup destination: its people get the message too.
    if (loaded.row.state === "pending") await postApproval(requestId);
  }

  /** A line in the thread of every approval message of the request. */
  async function replyInThreads(requestId: string, event: EventInfo): Promise<void> {
    const posted = await slackMessagesOf(deps.store.db, requestId);
    if (posted.length === 0) return;
    const loaded = await load(requestId);
    if (!loaded) return;
    const reply = threadNotice(event, loaded.view, loaded.labels, stepNames(deps, loaded.row));
    if (!reply) return;
    for (const p of posted) {
      await api.call("chat.postMessage", p.channel, (c) =>
        c.chat.postMessage({ channel: p.channel, thread_ts: p.ts, text: reply.text, blocks: reply.blocks }),
      );
    }
  }

  return { postApproval, updateApproval, replyInThreads };
}
