// The approval message and the lines that describe a request: who asks for what, for how long, why,
// and where it stands now (pure; no I/O).

import type { KnownBlock } from "@slack/types";
import type { LoadedConfig } from "../../../engine/load-config.ts";
import type { RequestView } from "../../../engine/read/views.ts";
import { humanDuration } from "../../../lib/duration.ts";
import {
  actions,
  button,
  context,
  fields,
  header,
  message,
  type SlackMessage,
  section,
} from "../blocks/build.ts";
import { escapeMrkdwn, slackDate } from "../blocks/text.ts";

export const actionIds = {
  approve: "jf_approve",
  deny: "jf_deny",
  revoke: "jf_revoke",
  cancel: "jf_cancel",
  extend: "jf_extend",
  newRequest: "jf_new_request",
} as const;

export interface Labels {
  flow: string;
  target: string | null;
}

export function labelsOf(config: LoadedConfig, view: Pick<RequestView, "flow" | "target">): Labels {
  return {
    flow: config.flows.get(view.flow)?.label ?? view.flow,
    target: view.target ? (config.targets.get(view.target)?.info.label ?? view.target) : null,
  };
}

/** "Production database: Prod DB read-only for 1h" */
export function what(view: RequestView, labels: Labels): string {
  const target = labels.target ? `: *${escapeMrkdwn(labels.target)}*` : "";
  const length = view.duration > 0 ? ` for *${humanDuration(view.duration)}*` : "";
  return `*${escapeMrkdwn(labels.flow)}*${target}${length}`;
}

/** A field value as a person reads it. */
export function showValue(value: unknown): string {
  if (Array.isArray(value)) return value.map(showValue).join(", ") || "–";
  if (value === true) return "yes";
  if (value === false) return "no";
  if (value === null || value === undefined || value === "") return "–";
  return escapeMrkdwn(String(value));
}

const who = (email: string): string => (email.startsWith("hook:") ? `a rule (${email.slice(5)})` : email);

const decided = (view: RequestView): string =>
  view.decidedAt ? ` ${slackDate(Date.parse(view.decidedAt))}` : "";

/** Where the request stands, in one line. */
export function stateLine(
  view: RequestView,
  minApprovals: number | "all",
  stepNames: readonly string[] = [],
): string {
  const approvals = view.decisions.filter((d) => d.decision === "approve");
  const atStep = approvals.filter((d) => d.step === view.step);
  const step = stepLabel(view, stepNames);
  const denial = view.decisions.find((d) => d.decision === "deny");
  const reason = (r: string | null | undefined) => (r ? `: “${escapeMrkdwn(r)}”` : "");
  const approvedBy = approvals.map((d) => `${escapeMrkdwn(who(d.actor))}${reason(d.reason)}`).join(", ");
  switch (view.state) {
    case "pending": {
      const where = step ? `, ${step}` : "";
      const by = atStep.map((d) => `${escapeMrkdwn(who(d.actor))}${reason(d.reason)}`).join(", ");
      const earlier =
        approvals.length > atStep.length
          ? ` (earlier steps approved by ${approvals
              .filter((d) => d.step !== view.step)
              .map((d) => escapeMrkdwn(who(d.actor)))
              .join(", ")})`
          : "";
      return atStep.length > 0
        ? `:hourglass: *Waiting for approval*${where} (${atStep.length} of ${minApprovals}; approved by ${by})${earlier}`
        : `:hourglass: *Waiting for approval*${where}${minApprovals === "all" || minApprovals > 1 ? ` (needs ${minApprovals})` : ""}${earlier}`;
    }
    case "approved":
      // An approval-only flow (no target) ends here; a flow with a target is about to grant.
      return view.target === null
        ? `:white_check_mark: *Approved* by ${approvedBy}${decided(view)}`
        : `:white_check_mark: *Approved* by ${approvedBy}${decided(view)}; granting access…`;
    case "escalating":
      return `:white_check_mark: *Approved* by ${approvedBy}${decided(view)}; granting access…`;
    case "active":
      return `:large_green_circle: *Active* until ${slackDate(Date.parse(view.expiresAt ?? view.updatedAt))} (approved by ${approvedBy}${decided(view)})`;
    case "deescalating":
      return ":hourglass: *Ending*: taking access away…";
    case "ended": {
      // A grant that failed ends in "failed", not here.
      const how = view.endedReason === "revoked" ? "revoked" : "expired on schedule";
      return `:white_circle: *Ended* ${slackDate(Date.parse(view.endedAt ?? view.updatedAt))} (${how})`;
    }
    case "denied":
      return `:no_entry: *Denied* by ${escapeMrkdwn(who(denial?.actor ?? "?"))}${reason(denial?.reason)}${decided(view)}`;
    case "expired":
      return view.decidedAt
        ? ":zzz: *Expired*: approved, but it did not start in time"
        : ":zzz: *Expired*: no one decided in time";
    case "cancelled":
      return ":heavy_multiplication_x: *Cancelled* by the requester";
    case "failed":
      return `:x: *Failed*: ${escapeMrkdwn(view.error ?? "the target refused")}`;
  }
}

/** A request's steps by name, in the order they apply, and their indices in the flow's steps. */
export interface StepNames {
  names: string[];
  indices: number[];
}

/** "step 2 of 2 (manager)", or "" for a request with one step. */
export function stepLabel(view: Pick<RequestView, "step" | "steps">, names: readonly string[]): string {
  if (view.steps.length <= 1) return "";
  const at = view.steps.indexOf(view.step);
  return `step ${at + 1} of ${view.steps.length} (${escapeMrkdwn(names[view.step] ?? `step ${view.step + 1}`)})`;
}

export interface ApprovalOptions {
  minApprovals: number;
  /** Per step of the flow: its quorum and name. */
  quorums?: readonly (number | "any" | "all")[];
  stepNames?: readonly string[];
  allowRevoke: boolean;
  /** Field names to leave out (hidden fields). */
  hidden: ReadonlySet<string>;
  fieldLabels: ReadonlyMap<string, string>;
}

/** The message approvers see: the ask, the field values, where it stands, and the buttons that still apply. */
export function approvalMessage(view: RequestView, labels: Labels, options: ApprovalOptions): SlackMessage {
  const blocks: KnownBlock[] = [
    header(`Access request: ${labels.flow}`),
    section(
      `*${escapeMrkdwn(view.requester.name)}* (${escapeMrkdwn(view.requester.email)}) asks for ${what(view, labels)}`,
    ),
  ];
  const shown = Object.entries(view.fields).filter(([name]) => !options.hidden.has(name));
  if (shown.length > 0) {
    blocks.push(
      ...fields(
        shown.map(([name, value]) => [escapeMrkdwn(options.fieldLabels.get(name) ?? name), showValue(value)]),
      ),
    );
  }
  const quorum = options.quorums?.[view.step];
  const needed = quorum === undefined ? options.minApprovals : quorum === "any" ? 1 : quorum;
  blocks.push(section(stateLine(view, needed, options.stepNames), { blockId: `state:${view.state}` }));
  if (view.breakGlass) {
    blocks.push(context(`:rotating_light: *Break-glass*: “${escapeMrkdwn(view.breakGlass)}”`));
  }
  if (view.startAt && (view.state === "pending" || view.state === "approved")) {
    blocks.push(context(`Starts ${slackDate(Date.parse(view.startAt))}`));
  }
  if (view.state === "pending") {
    blocks.push(
      actions(`decide:${view.id}`, [
        button({ text: "Approve", actionId: actionIds.approve, value: view.id, style: "primary" }),
        button({ text: "Deny", actionId: actionIds.deny, value: view.id, style: "danger" }),
      ]),
    );
  } else if (view.state === "active" && options.allowRevoke) {
    blocks.push(
      actions(`manage:${view.id}`, [
        button({
          text: "Revoke",
          actionId: actionIds.revoke,
          value: view.id,
          style: "danger",
          confirm: {
            title: "Revoke access?",
            text: `${view.requester.email} loses ${labels.target ?? labels.flow} now.`,
            confirm: "Revoke",
            deny: "Keep",
          },
        }),
      ]),
    );
  }
  blocks.push(
    context(`Request \`${view.id}\` · from ${view.source} · asked ${slackDate(Date.parse(view.createdAt))}`),
  );
  const plainText = `${view.requester.email} asks for ${labels.flow}${labels.target ? `: ${labels.target}` : ""} (${view.state})`;
  return message(plainText, blocks);
}
