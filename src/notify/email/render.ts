// Words a notification as an email (subject, plain text, HTML) for a requester or an approver: pure, no I/O.

import { humanDuration } from "../../lib/duration.ts";

export interface EmailNotice {
  /** e.g. "request.created", "request.approved", "request.denied", "request.expired", "request.cancelled", "request.approval_recorded", "request.step_started", "request.forwarded", "request.reminded", "request.break_glass", "grant.active", "grant.extended", "grant.ended", "request.failed", "extension.requested" */
  type: string;
  /** "requester" (about their own request) or "approver" (someone who may decide it) */
  audience: "requester" | "approver";
  request: {
    id: string;
    flow: string;
    flowLabel: string;
    target: string | null;
    targetLabel: string | null;
    requester: string;
    duration: number;
    state: string;
    expiresAt: string | null;
    startAt: string | null;
    breakGlass: string | null;
    fields: Record<string, unknown>;
  };
  /** Who caused it ("jitflow" for the system). */
  actor: string;
  /** The note given with the decision, if any. */
  reason: string | null;
  step?: { name: string; index: number; count: number } | undefined;
  approvals?: { count: number; needed: number } | undefined;
  /** URL of the request in the web app, when webUrl is set. */
  link?: string | undefined;
}

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

/** The first sentence of the email and its subject, both plain text. */
interface Wording {
  subject: string;
  headline: string;
}

const who = (actor: string): string => (actor.startsWith("hook:") ? `a rule (${actor.slice(5)})` : actor);

/** "Production database (prod_ro)": the flow, and the target when the flow has one. */
function what(n: EmailNotice): string {
  const target = n.request.targetLabel ?? n.request.target;
  return target ? `${n.request.flowLabel} (${target})` : n.request.flowLabel;
}

function forHowLong(n: EmailNotice): string {
  return n.request.duration > 0 ? ` for ${humanDuration(n.request.duration)}` : "";
}

/** "2025-01-31 14:00 UTC": mail clients show no time zone of their own, so the email says which one. */
function showTime(iso: string | null): string | undefined {
  if (!iso) return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? iso : `${new Date(ms).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

function showValue(value: unknown): string {
  if (Array.isArray(value)) return value.map(showValue).join(", ") || "–";
  if (value === true) return "yes";
  if (value === false) return "no";
  if (value === null || value === undefined || value === "") return "–";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function wording(n: EmailNotice): Wording {
  const you = n.audience === "requester";
  const asker = you ? "You" : n.request.requester;
  const ask = `${what(n)}${forHowLong(n)}`;
  const request = you ? "your request" : `${n.request.requester}'s request`;
  const yours = you ? "Your request" : request;
  const by = who(n.actor);
  const until = showTime(n.request.expiresAt);
  switch (n.type) {
    case "request.created":
      return you
        ? { subject: `You asked for ${ask}`, headline: `You asked for ${ask}. It is waiting for approval.` }
        : {
            subject: `${asker} asks for ${ask}`,
            headline: `${asker} asks for ${ask} and is waiting for your decision.`,
          };
    case "request.approved":
      return { subject: `Approved by ${by}: ${ask}`, headline: `${yours} for ${ask} was approved by ${by}.` };
    case "request.denied":
      return { subject: `Denied by ${by}: ${ask}`, headline: `${yours} for ${ask} was denied by ${by}.` };
    case "request.expired":
      return { subject: `Expired: ${ask}`, headline: `${yours} for ${ask} expired: no one decided in time.` };
    case "request.activation_expired":
      return {
        subject: `Expired: ${ask}`,
        headline: `${yours} for ${ask} was approved but expired: it did not start within its activation window.`,
      };
    case "request.cancelled":
      return {
        subject: `Cancelled by ${by}: ${ask}`,
        headline: `${yours} for ${ask} was cancelled by ${by}.`,
      };
    case "request.approval_recorded":
      return {
        subject: `${by} approved ${ask}`,
        headline: `${by} approved ${request} for ${ask}; it needs more approvals.`,
      };
    case "request.step_started":
      return you
        ? {
            subject: `Next approval step: ${ask}`,
            headline: `${yours} for ${ask} moved to its next approval step.`,
          }
        : {
            subject: `${asker} asks for ${ask}`,
            headline: `${asker} asks for ${ask}; this approval step is yours to decide.`,
          };
    case "request.forwarded":
      return you
        ? { subject: `Forwarded by ${by}: ${ask}`, headline: `${yours} for ${ask} was forwarded by ${by}.` }
        : {
            subject: `Forwarded by ${by}: ${asker} asks for ${ask}`,
            headline: `${by} forwarded ${request} for ${ask} to you for a decision.`,
          };
    case "request.reminded":
      return you
        ? {
            subject: `Reminder: your request for ${ask} is still waiting`,
            headline: `${yours} for ${ask} is still waiting for approval.`,
          }
        : {
            subject: `Reminder: ${request} for ${ask} is waiting for your decision`,
            headline: `${yours} for ${ask} is still waiting for your decision.`,
          };
    case "request.break_glass":
      return {
        subject: `BREAK-GLASS: ${n.request.requester} took ${what(n)} without approval`,
        headline: `${n.request.requester} used break-glass to take ${ask} without approval.`,
      };
    case "grant.active":
      return {
        subject: `Access granted: ${what(n)}`,
        headline: `${you ? "You now have" : `${n.request.requester} now has`} ${what(n)}${until ? ` until ${until}` : ""}.`,
      };
    case "grant.extended":
      return {
        subject: `Extended: ${what(n)}`,
        headline: `${you ? "Your" : `${n.request.requester}'s`} access to ${what(n)} was extended${until ? ` until ${until}` : ""}.`,
      };
    case "grant.ended":
      return {
        subject: `Ended: ${what(n)}`,
        headline: `${you ? "Your" : `${n.request.requester}'s`} access to ${what(n)} has ended.`,
      };
    case "request.failed":
      return { subject: `Failed: ${ask}`, headline: `${yours} for ${ask} failed.` };
    case "extension.requested":
      return you
        ? { subject: `You asked to extend ${what(n)}`, headline: `You asked to extend ${what(n)}.` }
        : {
            subject: `${asker} asks to extend ${what(n)}`,
            headline: `${asker} asks to extend ${what(n)} and is waiting for your decision.`,
          };
    default:
      return { subject: `${n.type}: ${ask}`, headline: `${yours} for ${ask}: ${n.type}.` };
  }
}

/** The label/value rows every email shows under its headline, in the same order in text and HTML. */
function details(n: EmailNotice): [string, string][] {
  const rows: [string, string][] = [
    ["Requested by", n.request.requester],
    ["Access", what(n)],
  ];
  if (n.request.duration > 0) rows.push(["Duration", humanDuration(n.request.duration)]);
  if (n.reason) rows.push(["Reason", n.reason]);
  if (n.request.breakGlass) rows.push(["Break-glass reason", n.request.breakGlass]);
  if (n.step) rows.push(["Step", `step ${n.step.index} of ${n.step.count}: ${n.step.name}`]);
  if (n.approvals) rows.push(["Approvals", `${n.approvals.count} of ${n.approvals.needed} approvals`]);
  const starts = showTime(n.request.startAt);
  if (starts) rows.push(["Starts", starts]);
  const expires = showTime(n.request.expiresAt);
  if (expires) rows.push(["Ends", expires]);
  for (const [name, value] of Object.entries(n.request.fields)) rows.push([name, showValue(value)]);
  rows.push(["State", n.request.state], ["Request", n.request.id]);
  return rows;
}

function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

const cell = "padding:4px 12px 4px 0;vertical-align:top;text-align:left";

function html(headline: string, rows: [string, string][], link: string | undefined): string {
  const table = rows
    .map(
      ([label, value]) =>
        `<tr><th style="${cell};color:#555;font-weight:normal">${escapeHtml(label)}</th>` +
        `<td style="${cell};white-space:pre-wrap">${escapeHtml(value)}</td></tr>`,
    )
    .join("");
  const button = link
    ? `<p><a href="${escapeHtml(link)}" style="display:inline-block;padding:8px 16px;background:#1d4ed8;color:#fff;text-decoration:none;border-radius:4px">Open in jitflow</a></p>`
    : "";
  return (
    `<!DOCTYPE html><html><body style="font-family:sans-serif;font-size:14px;color:#111">` +
    `<p style="font-size:16px">${escapeHtml(headline)}</p>` +
    `<table style="border-collapse:collapse">${table}</table>${button}</body></html>`
  );
}

/** Subject, plain text and HTML of the email for a notice; every value in the HTML is escaped. */
export function renderEmail(n: EmailNotice): RenderedEmail {
  const { subject, headline } = wording(n);
  const rows = details(n);
  const lines = rows.map(([label, value]) => `${label}: ${value}`);
  const text = [headline, "", ...lines, ...(n.link ? ["", `Open in jitflow: ${n.link}`] : [])].join("\n");
  return {
    // A label or reason with a line break must not spill into other headers, nor leave a ragged subject.
    subject: `[jitflow] ${subject}`.replace(/\s+/g, " ").trim(),
    text: `${text}\n`,
    html: html(headline, rows, n.link),
  };
}
