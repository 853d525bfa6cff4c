// My access: the person's pending, active and past requests, with a live countdown, and Cancel, Revoke and
// Extend where they apply.

import { useCallback, useEffect, useId, useState } from "react";
import { api, describeError } from "../api.ts";
import { EmptyState, ErrorNotice, Loading, Notice } from "../components/notice.tsx";
import { Page } from "../components/page.tsx";
import { RequestCard, requestTitle } from "../components/request-card.tsx";
import { formatDuration } from "../format.ts";
import { useLiveUpdates } from "../live.tsx";
import { Link, useLocation } from "../router.tsx";
import type { AccessRequest, Flow, RequestState } from "../types.ts";
import { usePaged } from "../use-paged.ts";
import { useResource } from "../use-resource.ts";

const openStates: RequestState[] = ["pending", "approved", "escalating", "active", "deescalating"];
const pastStates: RequestState[] = ["denied", "expired", "cancelled", "ended", "failed"];
// When the flow is unknown to this person now (its sources changed, say), these are offered for Extend.
const fallbackExtensions = [900, 3600];

export function MyAccessPage() {
  const { search } = useLocation();
  const highlight = search.get("highlight");
  const [message, setMessage] = useState("");

  const flows = useResource(useCallback((signal: AbortSignal) => api.flows(signal), []));
  const open = usePaged(
    useCallback(
      (cursor: string | null, limit: number, signal: AbortSignal) =>
        api.requests({ mine: true, state: openStates, cursor, limit }, signal),
      [],
    ),
    200,
    200,
  );
  const past = usePaged(
    useCallback(
      (cursor: string | null, limit: number, signal: AbortSignal) =>
        api.requests({ mine: true, state: pastStates, cursor, limit }, signal),
      [],
    ),
    20,
    200,
  );
  const reload = () => {
    open.reload();
    past.reload();
  };
  useLiveUpdates(reload);

  const flowOf = (name: string) => flows.data?.find((f) => f.name === name);
  // An approval-only request stays "approved" for good: it is history, not access.
  const isPast = (r: AccessRequest) => r.state === "approved" && r.target === null;
  const pending = open.items.filter((r) => r.state === "pending");
  const active = open.items.filter((r) => r.state !== "pending" && !isPast(r));
  const history = [...open.items.filter(isPast), ...past.items];

  useEffect(() => {
    if (highlight && !open.loading && !past.loading) {
      document.getElementById(`request-${highlight}`)?.scrollIntoView({ block: "center" });
    }
  }, [highlight, open.loading, past.loading]);

  const card = (request: AccessRequest) => (
    <li key={request.id}>
      <RequestCard
        request={request}
        flow={flowOf(request.flow)}
        view="mine"
        highlighted={request.id === highlight}
      >
        <MyActions
          request={request}
          flow={flowOf(request.flow)}
          onDone={(text) => {
            setMessage(text);
            reload();
          }}
        />
      </RequestCard>
    </li>
  );

  const loading = open.loading || past.loading;
  const nothing = !loading && open.items.length === 0 && past.items.length === 0;
  return (
    <Page
      title="My access"
      intro="What you have asked for, what you have now, and for how long."
      actions={
        <Link to="/request" className="button primary">
          Request access
        </Link>
      }
    >
      <div role="status" className="status-line">
        {message}
      </div>
      {highlight && !loading ? <Notice tone="success">Your request has been sent.</Notice> : null}
      {open.error ? <ErrorNotice error={open.error} action="see your requests" /> : null}
      {loading ? <Loading what="your requests" /> : null}
      {nothing && !open.error ? (
        <EmptyState title="You have no access yet.">
          <p>
            <Link to="/request">Request access</Link> to what you need; it is granted once approved and
            removed when the time is up.
          </p>
        </EmptyState>
      ) : null}
      {!loading && !nothing ? (
        <>
          <section aria-labelledby="pending-heading" className="section">
            <h2 id="pending-heading">Waiting for approval</h2>
            {pending.length === 0 ? (
              <p className="muted">Nothing is waiting for approval.</p>
            ) : (
              <ul className="cards">{pending.map(card)}</ul>
            )}
          </section>
          <section aria-labelledby="active-heading" className="section">
            <h2 id="active-heading">Active access</h2>
            {active.length === 0 ? (
              <p className="muted">
                You have no access right now. <Link to="/request">Request access</Link>
              </p>
            ) : (
              <ul className="cards">{active.map(card)}</ul>
            )}
          </section>
          <section aria-labelledby="past-heading" className="section">
            <h2 id="past-heading">Past requests</h2>
            {past.error ? <ErrorNotice error={past.error} action="see your past requests" /> : null}
            {history.length === 0 ? (
              <p className="muted">No past requests.</p>
            ) : (
              <ul className="cards">{history.map(card)}</ul>
            )}
            {past.hasMore ? (
              <button type="button" className="button" onClick={past.loadMore} disabled={past.loadingMore}>
                {past.loadingMore ? "Loading…" : "Load more"}
              </button>
            ) : null}
          </section>
        </>
      ) : null}
    </Page>
  );
}

function MyActions({
  request,
  flow,
  onDone,
}: {
  request: AccessRequest;
  flow: Flow | undefined;
  onDone: (message: string) => void;
}) {
  const extendId = useId();
  const choices = flow?.durations.length ? flow.durations : fallbackExtensions;
  const [extendBy, setExtendBy] = useState(String(choices[0]));
  const [busy, setBusy] = useState<string | null>(null);
  const [failure, setFailure] = useState<{ error: unknown; action: string } | null>(null);
  const title = requestTitle(request, flow);

  const run = async (action: string, call: () => Promise<unknown>, done: string) => {
    setBusy(action);
    setFailure(null);
    try {
      await call();
      onDone(done);
    } catch (error) {
      setFailure({ error, action });
    } finally {
      setBusy(null);
    }
  };

  const canCancel = request.state === "pending";
  const canRevoke =
    (request.state === "active" || request.state === "escalating" || request.state === "approved") &&
    request.target !== null &&
    flow?.allowRevoke !== false;
  const canExtend = request.state === "active";
  if (!canCancel && !canRevoke && !canExtend) return null;

  return (
    <>
      {canCancel ? (
        <button
          type="button"
          className="button"
          disabled={busy !== null}
          onClick={() =>
            run("cancel this request", () => api.act(request.id, "cancel"), `Cancelled: ${title}.`)
          }
        >
          {busy === "cancel this request" ? "Cancelling…" : "Cancel request"}
        </button>
      ) : null}
      {canExtend ? (
        <form
          className="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            run(
              "extend this access",
              () => api.extend(request.id, Number(extendBy)),
              `Extended ${title} by ${formatDuration(Number(extendBy))}.`,
            );
          }}
        >
          <label htmlFor={extendId}>Extend by</label>
          <select id={extendId} value={extendBy} onChange={(e) => setExtendBy(e.target.value)}>
            {choices.map((d) => (
              <option key={d} value={String(d)}>
                {formatDuration(d)}
              </option>
            ))}
          </select>
          <button type="submit" className="button" disabled={busy !== null}>
            {busy === "extend this access" ? "Extending…" : "Extend"}
          </button>
        </form>
      ) : null}
      {canRevoke ? (
        <button
          type="button"
          className="button danger"
          disabled={busy !== null}
          onClick={() => run("revoke this access", () => api.act(request.id, "revoke"), `Revoked: ${title}.`)}
        >
          {busy === "revoke this access" ? "Revoking…" : "Revoke"}
        </button>
      ) : null}
      {failure ? (
        <p className="field-error action-error" role="alert">
          {describeError(failure.error, failure.action)}
        </p>
      ) : null}
    </>
  );
}
