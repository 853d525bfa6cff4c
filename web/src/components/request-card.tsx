// One request as a card: what, for whom, how long, its state and time left, its fields and decisions, and
// the actions the page offers on it.

import { type ReactNode, useId } from "react";
import { actorText } from "../event-text.ts";
import { formatDateTime, formatDuration, formatFull, formatRelative, formatValue } from "../format.ts";
import type { AccessRequest, Flow } from "../types.ts";
import { useNow } from "../use-now.ts";
import { Countdown } from "./countdown.tsx";
import { StateBadge } from "./state-badge.tsx";
import { Timeline } from "./timeline.tsx";

const endedBecause = { scheduled: "time was up", revoked: "revoked", failed: "the grant failed" } as const;

/** "1 of 2 approvals: bob@example.com"; without the flow's quorum, just how many so far. */
export function approvalsSummary(request: AccessRequest, flow: Flow | undefined): string {
  const approvals = request.decisions.filter((d) => d.decision === "approve");
  const needed = flow?.approvers?.minApprovals;
  const count = needed ? `${approvals.length} of ${needed}` : `${approvals.length}`;
  const plural = (needed ?? approvals.length) === 1 ? "approval" : "approvals";
  const who = approvals.length > 0 ? `: ${approvals.map((a) => actorText(a.actor)).join(", ")}` : "";
  return `${count} ${plural}${needed ? "" : " so far"}${who}`;
}

export function requestTitle(request: AccessRequest, flow: Flow | undefined): string {
  const target = flow?.targets.find((t) => t.name === request.target)?.label ?? request.target;
  const what = flow?.label ?? request.flow;
  return target && target !== what ? `${what}: ${target}` : what;
}

function fieldRows(request: AccessRequest, flow: Flow | undefined): [label: string, value: unknown][] {
  const known = flow?.fields ?? [];
  const rows: [string, unknown][] = known
    .filter((f) => f.name in request.fields)
    .map((f) => [f.label, request.fields[f.name]]);
  for (const [name, value] of Object.entries(request.fields)) {
    if (!known.some((f) => f.name === name)) rows.push([name, value]);
  }
  return rows;
}

function When({ at }: { at: string }) {
  const now = useNow(30_000);
  return (
    <time dateTime={at} title={formatFull(at)}>
      {formatDateTime(at)} ({formatRelative(at, now)})
    </time>
  );
}

export function RequestCard({
  request,
  flow,
  view,
  level = 3,
  highlighted = false,
  children,
}: {
  request: AccessRequest;
  flow: Flow | undefined;
  view: "mine" | "approver";
  level?: 2 | 3;
  highlighted?: boolean;
  children?: ReactNode;
}) {
  const headingId = useId();
  const Heading = level === 2 ? "h2" : "h3";
  const live = request.state === "active" || request.state === "escalating";
  return (
    <article
      className={highlighted ? "card request highlighted" : "card request"}
      aria-labelledby={headingId}
      id={`request-${request.id}`}
    >
      <header className="card-head">
        <Heading id={headingId} className="card-title">
          {requestTitle(request, flow)}
        </Heading>
        <StateBadge state={request.state} />
      </header>
      <dl className="facts">
        {view === "approver" ? (
          <div>
            <dt>Requested by</dt>
            <dd>
              {request.requester.name && request.requester.name !== request.requester.email
                ? `${request.requester.name} (${request.requester.email})`
                : request.requester.email}
            </dd>
          </div>
        ) : null}
        {request.duration > 0 ? (
          <div>
            <dt>Duration</dt>
            <dd>{formatDuration(request.duration)}</dd>
          </div>
        ) : null}
        <div>
          <dt>Requested</dt>
          <dd>
            <When at={request.createdAt} />
          </dd>
        </div>
        {live && request.expiresAt ? (
          <div className="wide">
            <dt>Time left</dt>
            <dd>
              <Countdown expiresAt={request.expiresAt} />
            </dd>
          </div>
        ) : null}
        {request.endedAt ? (
          <div>
            <dt>Ended</dt>
            <dd>
              <When at={request.endedAt} />
              {request.endedReason ? `: ${endedBecause[request.endedReason]}` : ""}
            </dd>
          </div>
        ) : null}
        {request.state === "pending" ? (
          <div>
            <dt>Approvals</dt>
            <dd>{approvalsSummary(request, flow)}</dd>
          </div>
        ) : null}
        {fieldRows(request, flow).map(([label, value]) => (
          <div key={label}>
            <dt>{label}</dt>
            <dd className="value">{formatValue(value)}</dd>
          </div>
        ))}
      </dl>
      {request.decisions.length > 0 ? (
        <ul className="decisions" aria-label="Decisions">
          {request.decisions.map((d) => (
            <li key={`${d.actor}-${d.at}`}>
              {d.decision === "approve" ? "Approved" : "Denied"} by {actorText(d.actor)},{" "}
              <time dateTime={d.at}>{formatDateTime(d.at)}</time>
              {d.reason ? (
                <>
                  : <q>{d.reason}</q>
                </>
              ) : null}
            </li>
          ))}
        </ul>
      ) : null}
      {request.error ? <p className="card-problem">Error: {request.error}</p> : null}
      {request.lastError && (live || request.state === "deescalating") ? (
        <p className="card-problem">
          The target is failing ({request.attempts} {request.attempts === 1 ? "try" : "tries"}); jitflow keeps
          trying: {request.lastError}
        </p>
      ) : null}
      {children ? <div className="card-actions">{children}</div> : null}
      <Timeline requestId={request.id} />
    </article>
  );
}
