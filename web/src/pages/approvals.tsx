// Approvals: requests waiting for this person's decision, with everything needed to decide, and Approve or
// Deny with a note.

import { useCallback, useEffect, useId, useState } from "react";
import { api, describeError, type RequestAction } from "../api.ts";
import { EmptyState, ErrorNotice, Loading } from "../components/notice.tsx";
import { Page } from "../components/page.tsx";
import { RequestCard, requestTitle } from "../components/request-card.tsx";
import { useLiveUpdates } from "../live.tsx";
import type { AccessRequest, Flow } from "../types.ts";
import { usePaged } from "../use-paged.ts";
import { useResource } from "../use-resource.ts";

/** How often the list is fetched again even when the stream said nothing. */
const recheckMs = 30_000;

export function ApprovalsPage() {
  const [message, setMessage] = useState("");
  const flows = useResource(useCallback((signal: AbortSignal) => api.flows(signal), []));
  const waiting = usePaged(
    useCallback(
      (cursor: string | null, limit: number, signal: AbortSignal) =>
        api.requests({ awaiting: "me", cursor, limit }, signal),
      [],
    ),
    50,
    200,
  );
  useLiveUpdates(waiting.reload);
  // The stream tells approvers named only by getApprovers or getPermissions of nothing until they have
  // decided (docs/api.md#get-apiv1stream): without looking again now and then, their list would stay stale.
  useEffect(() => {
    const timer = window.setInterval(() => {
      if (document.visibilityState === "visible") waiting.reload();
    }, recheckMs);
    return () => window.clearInterval(timer);
  }, [waiting.reload]);
  const flowOf = (name: string) => flows.data?.find((f) => f.name === name);

  return (
    <Page
      title="Approvals"
      intro="Requests waiting for your decision. New ones appear here as soon as they are made."
    >
      <div role="status" className="status-line">
        {message}
      </div>
      {waiting.error ? <ErrorNotice error={waiting.error} action="see the requests waiting for you" /> : null}
      {waiting.loading ? (
        <Loading what="requests" />
      ) : waiting.items.length === 0 && !waiting.error ? (
        <EmptyState title="Nothing is waiting for you.">
          <p>
            When someone asks for access you can approve, it shows up here (and in Slack, if it is set up).
          </p>
        </EmptyState>
      ) : (
        <ul className="cards">
          {waiting.items.map((request) => (
            <li key={request.id}>
              <RequestCard request={request} flow={flowOf(request.flow)} view="approver" level={2}>
                <Decide
                  request={request}
                  flow={flowOf(request.flow)}
                  onDone={(text) => {
                    setMessage(text);
                    waiting.reload();
                  }}
                />
              </RequestCard>
            </li>
          ))}
        </ul>
      )}
      {waiting.hasMore ? (
        <button type="button" className="button" onClick={waiting.loadMore} disabled={waiting.loadingMore}>
          {waiting.loadingMore ? "Loading…" : "Load more"}
        </button>
      ) : null}
    </Page>
  );
}

function Decide({
  request,
  flow,
  onDone,
}: {
  request: AccessRequest;
  flow: Flow | undefined;
  onDone: (message: string) => void;
}) {
  const noteId = useId();
  const [note, setNote] = useState("");
  const [busy, setBusy] = useState<RequestAction | null>(null);
  const [failure, setFailure] = useState<{ error: unknown; action: RequestAction } | null>(null);

  const decide = async (action: "approve" | "deny") => {
    setBusy(action);
    setFailure(null);
    try {
      await api.act(request.id, action, note.trim() || undefined);
      const done = action === "approve" ? "Approved" : "Denied";
      onDone(`${done}: ${requestTitle(request, flow)} for ${request.requester.email}.`);
    } catch (error) {
      setFailure({ error, action });
    } finally {
      setBusy(null);
    }
  };

  return (
    <div className="decide">
      <div className="field">
        <label htmlFor={noteId}>Note (optional)</label>
        <textarea
          id={noteId}
          rows={2}
          maxLength={2000}
          value={note}
          onChange={(e) => setNote(e.target.value)}
          placeholder="Kept with your decision and shown to the requester"
        />
      </div>
      <div className="button-row">
        <button
          type="button"
          className="button primary"
          disabled={busy !== null}
          onClick={() => decide("approve")}
        >
          {busy === "approve" ? "Approving…" : "Approve"}
        </button>
        <button
          type="button"
          className="button danger"
          disabled={busy !== null}
          onClick={() => decide("deny")}
        >
          {busy === "deny" ? "Denying…" : "Deny"}
        </button>
      </div>
      {failure ? (
        <p className="field-error action-error" role="alert">
          {describeError(failure.error, `${failure.action} this request`)}
        </p>
      ) : null}
    </div>
  );
}
