// Live updates: one EventSource on /api/v1/stream for the whole app; pages subscribe and fetch again when a
// request they show changes, so nobody has to reload.

import {
  createContext,
  type ReactNode,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
} from "react";
import type { RequestChange } from "./types.ts";

/** The changes since the last call, or null when anything may have changed (back online, tab shown again). */
export type LiveListener = (changes: RequestChange[] | null) => void;

export type LiveStatus = "connecting" | "live" | "offline";

interface LiveContextValue {
  status: LiveStatus;
  subscribe: (listener: LiveListener) => () => void;
}

const LiveContext = createContext<LiveContextValue | null>(null);

// Changes arriving together (an approval that also starts the grant) are handed over as one batch.
const batchMs = 100;
const maxRetryMs = 30_000;

export function LiveProvider({ children }: { children: ReactNode }) {
  const [status, setStatus] = useState<LiveStatus>("connecting");
  const listeners = useRef(new Set<LiveListener>());

  useEffect(() => {
    let source: EventSource | null = null;
    let pending: RequestChange[] = [];
    let flushTimer: number | undefined;
    let retryTimer: number | undefined;
    let retryMs = 1000;
    let wasOpen = false;

    const notify = (changes: RequestChange[] | null) => {
      for (const listener of listeners.current) listener(changes);
    };
    const flush = () => {
      flushTimer = undefined;
      const batch = pending;
      pending = [];
      if (batch.length > 0) notify(batch);
    };

    const connect = () => {
      source = new EventSource("/api/v1/stream");
      source.addEventListener("open", () => {
        setStatus("live");
        retryMs = 1000;
        // Whatever happened while the stream was down was not heard: everything is fetched again.
        if (wasOpen) notify(null);
        wasOpen = true;
      });
      source.addEventListener("request", (event) => {
        try {
          pending.push(JSON.parse((event as MessageEvent<string>).data) as RequestChange);
        } catch {
          return;
        }
        flushTimer ??= window.setTimeout(flush, batchMs);
      });
      source.addEventListener("error", () => {
        if (source?.readyState !== EventSource.CLOSED) return setStatus("connecting");
        // The browser gives up on an HTTP error (a restart behind a proxy, say); we do not.
        setStatus("offline");
        wasOpen = true;
        source = null;
        retryTimer = window.setTimeout(connect, retryMs);
        retryMs = Math.min(maxRetryMs, retryMs * 2);
      });
    };

    const onVisible = () => {
      if (document.visibilityState === "visible") notify(null);
    };
    connect();
    document.addEventListener("visibilitychange", onVisible);
    return () => {
      source?.close();
      window.clearTimeout(flushTimer);
      window.clearTimeout(retryTimer);
      document.removeEventListener("visibilitychange", onVisible);
    };
  }, []);

  const subscribe = useCallback((listener: LiveListener) => {
    listeners.current.add(listener);
    return () => {
      listeners.current.delete(listener);
    };
  }, []);
  const value = useMemo(() => ({ status, subscribe }), [status, subscribe]);
  return <LiveContext.Provider value={value}>{children}</LiveContext.Provider>;
}

export function useLiveStatus(): LiveStatus {
  return useContext(LiveContext)?.status ?? "offline";
}

/** Calls `listener` with each batch of changes (the latest `listener`, without subscribing again). */
export function useLiveUpdates(listener: LiveListener): void {
  const live = useContext(LiveContext);
  const latest = useRef(listener);
  latest.current = listener;
  const subscribe = live?.subscribe;
  useEffect(() => subscribe?.((changes) => latest.current(changes)), [subscribe]);
}
