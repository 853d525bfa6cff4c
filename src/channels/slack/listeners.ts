// Bolt listeners: slash command, buttons, modal submissions, option loads and the App Home. Each
// acknowledges within Slack's 3 seconds; anything that changes state is recorded first (inbound.ts).

import { createHash } from "node:crypto";
import type { App, BlockAction, ButtonAction } from "@slack/bolt";
import type { ModalView } from "@slack/types";
import type { WebClient } from "@slack/web-api";
import type { SlackSettings } from "../../config/loader.ts";
import { prepareSubmission } from "../../engine/commands/submit.ts";
import type { EngineDeps } from "../../engine/deps.ts";
import { findVisibleRequest, type VisibleRequest } from "../../engine/engine.ts";
import { type FlowView, flowsFor, prefetchOptions } from "../../engine/read/queries.ts";
import { JitflowError, messageOf } from "../../errors.ts";
import { BoundedCache } from "../../lib/bounded-cache.ts";
import { humanDuration } from "../../lib/duration.ts";
import type { Person, PrefetchOption } from "../../model/types.ts";
import { uuidv7 } from "../../store/ids.ts";
import { getRequest } from "../../store/requests.ts";
import { input, modal, option, options, plain, section } from "./blocks/build.ts";
import { limits } from "./blocks/limits.ts";
import { escapeMrkdwn, truncate } from "./blocks/text.ts";
import { type FormState, readForm } from "./form-values.ts";
import { type Inbound, overviewOf, recordInbound } from "./inbound.ts";
import type { SlackPeople } from "./people.ts";
import { listMessage } from "./render/lists.ts";
import {
  allowedValueKey,
  type FormMetadata,
  fieldBlockId,
  fieldOfBlockId,
  flowPicker,
  ids,
  loadingView,
  messageView,
  requestForm,
} from "./render/request-form.ts";
import { actionIds } from "./render/request-message.ts";

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

const decisionIds = {
  decide: "jf_decide",
  extend: "jf_extend_submit",
  note: "jf:note",
  duration: "jf:extend",
};

export function registerListeners(app: App, l: ListenerDeps): void {
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

  app.command(settings.command, async ({ command, ack }) => {
    const [verb = "", ...rest] = command.text.trim().split(/\s+/);
    const sub = verb.toLowerCase();
    if (sub === "" || sub === "request" || sub === "req") {
      await ack();
      await openRequest(command.trigger_id, command.user_id, rest[0]);
      return;
    }
    if (sub === "list") {
      await ack();
      try {
        const person = await people.person(command.user_id);
        const m = listMessage(deps.config, await overviewOf(deps, person), settings.command);
        await respondEphemeral(command.response_url, { text: m.text, blocks: m.blocks });
      } catch (err) {
        await respondEphemeral(command.response_url, { text: `:warning: ${messageOf(err)}` });
      }
      return;
    }
    if (sub === "whoami") {
      await ack();
      try {
        const person = await people.person(command.user_id);
        const flows = flowsFor(deps, person, "slack").map((f) => f.label);
        await respondEphemeral(command.response_url, {
          text: `You are *${escapeMrkdwn(person.email)}*, role *${person.role}*.\n${
            flows.length
              ? `You can request: ${flows.map(escapeMrkdwn).join(", ")}.`
              : "You cannot request any flow."
          }`,
        });
      } catch (err) {
        await respondEphemeral(command.response_url, { text: `:warning: ${messageOf(err)}` });
      }
      return;
    }
    await ack({
      response_type: "ephemeral",
      text: `${sub === "help" ? "" : `I don't know "${escapeMrkdwn(verb)}".\n`}${help(settings.command)}`,
    });
  });

  // Approve and Deny: recorded, then acknowledged; or, when the flow asks for a note, a box for it first.
  // The box is only for someone who may see the request: anyone else's click is recorded as if the flow
  // asked for no note, and the engine refuses it exactly as it refuses a request that does not exist.
  for (const decision of ["approve", "deny"] as const) {
    app.action<BlockAction<ButtonAction>>(actionIds[decision], async ({ ack, body, action }) => {
      const requestId = action.value ?? "";
      const row = await getRequest(deps.store.db, requestId);
      const wantsNote = row && deps.config.flows.get(row.flow)?.config.approvers?.decisionNote;
      if (wantsNote && body.trigger_id && (await visibleTo(body.user.id, requestId))) {
        await ack();
        await client.views.open({
          trigger_id: body.trigger_id,
          view: noteModal(decision, requestId, body.channel?.id),
        });
        return;
      }
      await recordInbound(
        deps,
        {
          op: decision,
          requestId,
          user: body.user.id,
          ...(body.channel?.id ? { channel: body.channel.id } : {}),
        },
        clickKey(body.user.id, decision, requestId),
      );
      await ack();
    });
  }

  for (const op of ["revoke", "cancel"] as const) {
    app.action<BlockAction<ButtonAction>>(actionIds[op], async ({ ack, body, action }) => {
      await recordInbound(
        deps,
        {
          op,
          requestId: action.value ?? "",
          user: body.user.id,
          ...(body.channel?.id ? { channel: body.channel.id } : {}),
        },
        clickKey(body.user.id, op, action.value ?? ""),
      );
      await ack();
    });
  }

  // Extend: a box to choose how much longer, for someone who may see the request. Anyone else, like
  // anyone pressing it for a request that does not exist, gets no box and is told what the engine says.
  app.action<BlockAction<ButtonAction>>(actionIds.extend, async ({ ack, body, action }) => {
    await ack();
    const requestId = action.value ?? "";
    const found = await visibleTo(body.user.id, requestId);
    if (!found) {
      await recordInbound(
        deps,
        {
          op: "look",
          requestId,
          user: body.user.id,
          ...(body.channel?.id ? { channel: body.channel.id } : {}),
        },
        clickKey(body.user.id, "extend", requestId),
      );
      return;
    }
    const { row } = found;
    const flow = deps.config.flows.get(row.flow);
    if (!flow || !body.trigger_id) return;
    const choices = options(flow.config.durations.map((d) => option(humanDuration(d), String(d))));
    await client.views.open({
      trigger_id: body.trigger_id,
      view: modal({
        title: "Extend access",
        callbackId: decisionIds.extend,
        submit: "Extend",
        privateMetadata: JSON.stringify({ requestId: row.id, ifExpiresAt: row.expires_at }),
        blocks: [
          section(`Extend *${escapeMrkdwn(flow.label)}* by:`),
          input(decisionIds.duration, "Extra time", {
            type: "static_select",
            action_id: ids.value,
            options: choices,
            ...(choices[0] ? { initial_option: choices[0] } : {}),
          }),
        ],
      }),
    });
  });

  app.action<BlockAction<ButtonAction>>(actionIds.newRequest, async ({ ack, body }) => {
    await ack();
    if (body.trigger_id) await openRequest(body.trigger_id, body.user.id, undefined);
  });

  app.view(ids.pick, async ({ ack, body, view }) => {
    const picked = (view.state.values as FormState)[ids.flowBlock]?.[ids.value]?.selected_option?.value;
    let flows: FlowView[];
    try {
      flows = (await flowsOf(body.user.id)).flows;
    } catch (err) {
      await ack({
        response_action: "update",
        view: messageView("Request access", `:warning: ${escapeMrkdwn(messageOf(err))}`),
      });
      return;
    }
    const flow = flows.find((f) => f.name === picked);
    if (!flow) {
      await ack({ response_action: "errors", errors: { [ids.flowBlock]: "Choose a flow you may request." } });
      return;
    }
    await ack({ response_action: "update", view: formFor(flow) });
  });

  app.view(ids.request, async ({ ack, body, view }) => {
    let action: Inbound;
    let flow: FlowView | undefined;
    try {
      const flowName = metadataOf<FormMetadata>(view.private_metadata).flow;
      const person = await people.person(body.user.id);
      flow = flowsFor(deps, person, "slack").find((f) => f.name === flowName);
      if (!flow) throw new JitflowError("FLOW_NOT_FOUND", `you cannot request "${flowName}" from Slack`);
      const form = await readForm(flow, view.state.values as FormState, {
        email: async (id, field) => {
          try {
            return (await people.person(id)).email;
          } catch (err) {
            throw new JitflowError("FIELD_INVALID", `could not tell who that is: ${messageOf(err)}`, {
              details: { fields: [{ field, message: `could not tell who that is: ${messageOf(err)}` }] },
            });
          }
        },
        prefetched: async (field, key) => decodeOption(flow?.name ?? "", field, key, person),
      });
      const input = { actor: person, flow: flow.name, ...form, source: "slack" as const };
      prepareSubmission(deps, input);
      action = {
        op: "submit",
        requestId: uuidv7(deps.clock.now()),
        user: body.user.id,
        flow: flow.name,
        ...form,
      };
    } catch (thrown) {
      // Whatever went wrong, the person sees it in the form; an unanswered submit would just close it.
      const err =
        thrown instanceof JitflowError ? thrown : new JitflowError("SLACK_BODY_INVALID", messageOf(thrown));
      if (!(thrown instanceof JitflowError))
        deps.logger.warn({ err: thrown }, "Slack form submission failed");
      const errors = formErrors(err, flow);
      if (errors) {
        await ack({ response_action: "errors", errors });
      } else {
        await ack({
          response_action: "update",
          view: messageView("Request access", `:warning: ${escapeMrkdwn(err.message)}`),
        });
      }
      return;
    }
    // One request per form, however often Submit is pressed.
    await recordInbound(deps, action, `submit:${view.id}`);
    await ack({
      response_action: "update",
      view: messageView(
        "Request sent",
        ":outbox_tray: Your request was sent. I'll message you when it is decided.",
      ),
    });
  });

  app.view(decisionIds.decide, async ({ ack, body, view }) => {
    const meta = metadataOf<{ decision?: unknown; requestId?: unknown; channel?: unknown }>(
      view.private_metadata,
    );
    if ((meta.decision !== "approve" && meta.decision !== "deny") || typeof meta.requestId !== "string") {
      await ack({
        response_action: "update",
        view: messageView("Decide", ":warning: This form is not one jitflow made."),
      });
      return;
    }
    const note = (view.state.values as FormState)[decisionIds.note]?.[ids.value]?.value ?? undefined;
    await recordInbound(
      deps,
      {
        op: meta.decision,
        requestId: meta.requestId,
        user: body.user.id,
        ...(note ? { reason: note } : {}),
        ...(typeof meta.channel === "string" ? { channel: meta.channel } : {}),
      },
      `decide:${view.id}`,
    );
    await ack();
  });

  app.view(decisionIds.extend, async ({ ack, body, view }) => {
    const meta = metadataOf<{ requestId?: unknown; ifExpiresAt?: unknown }>(view.private_metadata);
    const seconds = Number(
      (view.state.values as FormState)[decisionIds.duration]?.[ids.value]?.selected_option?.value,
    );
    if (typeof meta.requestId !== "string" || !Number.isSafeInteger(seconds) || seconds <= 0) {
      await ack({
        response_action: "update",
        view: messageView("Extend access", ":warning: This form is not one jitflow made."),
      });
      return;
    }
    await recordInbound(
      deps,
      {
        op: "extend",
        requestId: meta.requestId,
        user: body.user.id,
        duration: seconds,
        ...(typeof meta.ifExpiresAt === "number" ? { ifExpiresAt: meta.ifExpiresAt } : {}),
      },
      `extend:${view.id}`,
    );
    await ack();
  });

  app.options<"block_suggestion">({ type: "block_suggestion" }, async ({ ack, body }) => {
    const field = fieldOfBlockId(body.block_id);
    const meta = metadataOf<Partial<FormMetadata>>(body.view?.private_metadata);
    if (!field || !meta.flow) {
      await ack({ options: [] });
      return;
    }
    try {
      const person = await people.person(body.user.id);
      const allowed = flowsFor(deps, person, "slack")
        .find((f) => f.name === meta.flow)
        ?.fields.find((f) => f.name === field)?.allowedValues;
      if (allowed) {
        // A long list of allowed values, searched here instead of sent whole with the form.
        const q = (body.value ?? "").toLowerCase();
        const matching = allowed
          .map((v, i) => option(String(v), allowedValueKey(i)))
          .filter((_, i) => String(allowed[i]).toLowerCase().includes(q));
        await ack({ options: options(matching) });
        return;
      }
      const found = await loadOptions(meta.flow, field, person, body.value ?? "");
      await ack({
        options: options(found.map((o) => option(String(o.label), encodeOption(field, o.value)))),
      });
    } catch (err) {
      deps.logger.warn({ flow: meta.flow, field, error: messageOf(err) }, "prefetch for Slack failed");
      await ack({ options: [] });
    }
  });

  app.event("app_home_opened", async ({ event, body }) => {
    const eventId = (body as { event_id?: unknown }).event_id;
    // Bolt has acknowledged events already: a crash now loses only this refresh of the Home tab.
    if (event.tab !== "home" || typeof eventId !== "string") return;
    await recordInbound(deps, { op: "home", user: event.user }, `event:${eventId}`);
  });

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
}

/** A view's private_metadata: what jitflow put there, or an empty object when it is not JSON. */
function metadataOf<T>(text: string | undefined): Partial<T> {
  try {
    const value = JSON.parse(text || "{}") as unknown;
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Partial<T>) : {};
  } catch {
    return {};
  }
}

/** Two presses of one button by one person within a few seconds are one click. */
function clickKey(user: string, op: string, requestId: string): string {
  return `click:${user}:${op}:${requestId}:${Math.floor(Date.now() / 5000)}`;
}

function noteModal(decision: "approve" | "deny", requestId: string, channel: string | undefined): ModalView {
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
function formErrors(err: JitflowError, flow: FlowView | undefined): Record<string, string> | undefined {
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
