// "What happened": a request's events in order, loaded when opened and kept current by the live stream.

import { useCallback, useState } from "react";
import { api } from "../api.ts";
import { describeEvent, eventNote } from "../event-text.ts";
import { formatDateTime, formatFull } from "../format.ts";
import { useLiveUpdates } from "../live.tsx";
import { useResource } from "../use-resource.ts";
import { ErrorNotice, Loading } from "./notice.tsx";

export function Timeline({ requestId }: { requestId: string }) {
  const [open, setOpen] = useState(false);
  return (
    <details className="timeline" onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>What happened</summary>
      {open ? <TimelineEvents requestId={requestId} /> : null}
    </details>
  );
}

function TimelineEvents({ requestId }: { requestId: string }) {
  const load = useCallback((signal: AbortSignal) => api.events(requestId, signal), [requestId]);
  const events = useResource(load);
  useLiveUpdates((changes) => {
    if (!changes || changes.some((c) => c.requestId === requestId)) events.reload();
  });
  if (events.loading) return <Loading what="events" />;
  if (!events.data) return <ErrorNotice error={events.error} action="see this request's events" />;
  if (events.data.length === 0) return <p className="muted">Nothing has been recorded yet.</p>;
  return (
    <ol className="timeline-list">
      {events.data.map((event) => {
        const note = eventNote(event);
        return (
          <li key={event.id}>
            <time dateTime={event.at} title={formatFull(event.at)}>
              {formatDateTime(event.at, { seconds: true })}
            </time>
            <span className="timeline-text">{describeEvent(event)}</span>
            {note ? <q className="timeline-note">{note}</q> : null}
          </li>
        );
      })}
    </ol>
  );
}
