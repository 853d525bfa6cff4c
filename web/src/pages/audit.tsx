// Audit: every recorded event, filtered by flow, target, person, request state, type and dates, exported as
// CSV or JSON, with whether the hash chain verifies.

import { type FormEvent, useCallback, useId, useMemo } from "react";
import { type AuditFilters, api, isApiError, withQuery } from "../api.ts";
import { EmptyState, ErrorNotice, Loading } from "../components/notice.tsx";
import { Page } from "../components/page.tsx";
import { ScrollRegion } from "../components/scroll-region.tsx";
import { stateLabel } from "../components/state-badge.tsx";
import { actorText, describeEvent, eventTypes } from "../event-text.ts";
import { dayBoundary, formatDateTime, formatFull, formatValue } from "../format.ts";
import { useLiveUpdates } from "../live.tsx";
import { Link, navigate, useLocation } from "../router.tsx";
import { type AuditEvent, requestStates } from "../types.ts";
import { usePaged } from "../use-paged.ts";
import { useResource } from "../use-resource.ts";

const filterNames = [
  "flow",
  "target",
  "requester",
  "actor",
  "state",
  "type",
  "from",
  "to",
  "requestId",
] as const;
type FilterName = (typeof filterNames)[number];

/** The URL's filters (dates as typed, "2026-11-24") as the API wants them (ISO times). */
function apiFilters(values: Record<FilterName, string>): AuditFilters {
  return {
    flow: values.flow || undefined,
    target: values.target || undefined,
    requester: values.requester || undefined,
    actor: values.actor || undefined,
    state: values.state || undefined,
    type: values.type || undefined,
    from: dayBoundary(values.from, "start"),
    to: dayBoundary(values.to, "end"),
    requestId: values.requestId || undefined,
  };
}

export function AuditPage() {
  const { search } = useLocation();
  const values = useMemo(
    () => Object.fromEntries(filterNames.map((n) => [n, search.get(n) ?? ""])) as Record<FilterName, string>,
    [search],
  );
  const filters = useMemo(() => apiFilters(values), [values]);

  const events = usePaged(
    useCallback(
      (cursor: string | null, limit: number, signal: AbortSignal) =>
        api.audit(filters, cursor, limit, signal),
      [filters],
    ),
    100,
    1000,
  );
  const chain = useResource(useCallback((signal: AbortSignal) => api.verifyAudit(signal), []));
  const flows = useResource(useCallback((signal: AbortSignal) => api.flows(signal), []));
  // New events appear live; the chain is verified when the page opens (walking it all on every change
  // would cost the server a full pass each time).
  useLiveUpdates(events.reload);

  const forbidden = isApiError(events.error) && events.error.status === 403;
  if (forbidden) {
    return (
      <Page title="Audit log">
        <div className="notice notice-error" role="alert">
          Only admins can read the audit log. {events.error instanceof Error ? events.error.message : ""}
        </div>
      </Page>
    );
  }

  const apply = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const query = Object.fromEntries(filterNames.map((n) => [n, String(form.get(n) ?? "").trim()]));
    navigate(withQuery("/audit", query));
  };
  const filtered = filterNames.some((n) => values[n]);

  return (
    <Page
      title="Audit log"
      intro="Every change to every request, in the order it happened. Each event is chained to the one before by its hash."
      actions={<ChainBadge loading={chain.loading} data={chain.data} error={chain.error} />}
    >
      <Filters
        key={search.toString()}
        values={values}
        flows={flows.data?.map((f) => f.name) ?? []}
        onSubmit={apply}
      />
      {values.requestId ? (
        <p>
          Only the events of request <code>{values.requestId}</code>.{" "}
          <Link to={withQuery("/audit", { ...values, requestId: undefined })}>Show every request</Link>
        </p>
      ) : null}
      <div className="export">
        <span>Export {filtered ? "these events" : "every event"}:</span>
        <a className="button" href={api.auditExportUrl(filters, "csv")} download>
          Export CSV
        </a>
        <a className="button" href={api.auditExportUrl(filters, "json")} download>
          Export JSON
        </a>
      </div>
      {events.error ? <ErrorNotice error={events.error} action="read the audit log" /> : null}
      {events.loading ? (
        <Loading what="events" />
      ) : events.items.length === 0 && !events.error ? (
        <EmptyState title={filtered ? "No events match these filters." : "Nothing has been recorded yet."}>
          <p>
            {filtered
              ? "Widen the dates or clear a filter."
              : "Events appear here as soon as someone requests access."}
          </p>
        </EmptyState>
      ) : (
        <EventTable events={events.items} />
      )}
      {events.hasMore ? (
        <button type="button" className="button" onClick={events.loadMore} disabled={events.loadingMore}>
          {events.loadingMore ? "Loading…" : "Load more"}
        </button>
      ) : null}
    </Page>
  );
}

function ChainBadge({
  loading,
  data,
  error,
}: {
  loading: boolean;
  data: { ok: boolean; events: number; problems: { seq: number; problem: string }[] } | undefined;
  error: unknown;
}) {
  if (loading) return <span className="chain chain-unknown">Verifying the hash chain…</span>;
  if (!data) {
    return (
      <span className="chain chain-unknown" role="status">
        Hash chain not checked: {error instanceof Error ? error.message : "no answer"}
      </span>
    );
  }
  if (data.ok) {
    return (
      <span className="chain chain-ok" role="status">
        <span aria-hidden="true">✓ </span>Hash chain verified ({data.events} events)
      </span>
    );
  }
  // seq 0: a problem of the log as a whole (its head, a request with no event), not of one event.
  const shown = data.problems
    .slice(0, 3)
    .map((p) => (p.seq > 0 ? `event ${p.seq}: ${p.problem}` : p.problem));
  const more = data.problems.length - shown.length;
  return (
    <span className="chain chain-broken" role="alert">
      <span aria-hidden="true">✗ </span>Hash chain broken: {shown.join("; ")}
      {more > 0 ? ` and ${more} more` : ""}
    </span>
  );
}

function Filters({
  values,
  flows,
  onSubmit,
}: {
  values: Record<FilterName, string>;
  flows: string[];
  onSubmit: (event: FormEvent<HTMLFormElement>) => void;
}) {
  const id = useId();
  const field = (name: FilterName, label: string, type = "text", list?: string) => (
    <div className="field">
      <label htmlFor={`${id}-${name}`}>{label}</label>
      <input id={`${id}-${name}`} name={name} type={type} defaultValue={values[name]} list={list} />
    </div>
  );
  return (
    <form className="filters" onSubmit={onSubmit} aria-label="Filter events">
      {field("flow", "Flow", "text", `${id}-flows`)}
      <datalist id={`${id}-flows`}>
        {flows.map((f) => (
          <option key={f} value={f} />
        ))}
      </datalist>
      {field("target", "Target")}
      {field("requester", "Requester (email)", "email")}
      {field("actor", "Done by (email)", "text")}
      <div className="field">
        <label htmlFor={`${id}-state`}>Request's state now</label>
        <select id={`${id}-state`} name="state" defaultValue={values.state}>
          <option value="">Any</option>
          {requestStates.map((s) => (
            <option key={s} value={s}>
              {stateLabel(s)}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor={`${id}-type`}>Event type</label>
        <select id={`${id}-type`} name="type" defaultValue={values.type}>
          <option value="">Any</option>
          {eventTypes.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
      </div>
      {field("from", "From", "date")}
      {field("to", "To", "date")}
      <input type="hidden" name="requestId" value={values.requestId} />
      <div className="filter-actions">
        <button type="submit" className="button primary">
          Apply filters
        </button>
        <button type="button" className="button" onClick={() => navigate("/audit")}>
          Clear
        </button>
      </div>
    </form>
  );
}

function EventTable({ events }: { events: AuditEvent[] }) {
  return (
    <ScrollRegion label="Audit events">
      <table className="table">
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">Time</th>
            <th scope="col">What happened</th>
            <th scope="col">Done by</th>
            <th scope="col">Request</th>
            <th scope="col">Details</th>
          </tr>
        </thead>
        <tbody>
          {events.map((event) => (
            <tr key={event.id}>
              <td className="num">{event.seq}</td>
              <td className="nowrap">
                <time dateTime={event.at} title={formatFull(event.at)}>
                  {formatDateTime(event.at, { seconds: true })}
                </time>
              </td>
              <td>
                {describeEvent(event)}
                <br />
                <code className="muted">{event.type}</code>
              </td>
              <td>{actorText(event.actor)}</td>
              <td>
                {event.requestId ? (
                  <Link
                    to={withQuery("/audit", { requestId: event.requestId })}
                    title={event.requestId}
                    aria-label={`Events of request ${event.requestId}`}
                  >
                    <code>{event.requestId.slice(0, 8)}</code>
                  </Link>
                ) : (
                  <span className="muted">—</span>
                )}
              </td>
              <td>
                <Details data={event.data} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </ScrollRegion>
  );
}

function Details({ data }: { data: Record<string, unknown> }) {
  const entries = Object.entries(data);
  if (entries.length === 0) return <span className="muted">—</span>;
  return (
    <dl className="kv">
      {entries.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{formatValue(v)}</dd>
        </div>
      ))}
    </dl>
  );
}
