// A cursor-paginated list from the API: the first page, "Load more", and reload() that fetches again as
// many items as are shown, so a live update never shrinks what the person has paged through.

import { useCallback, useEffect, useRef, useState } from "react";
import type { Page } from "./types.ts";

export type PageLoader<T> = (cursor: string | null, limit: number, signal: AbortSignal) => Promise<Page<T>>;

export interface Paged<T> {
  items: T[];
  hasMore: boolean;
  /** True until the first answer. */
  loading: boolean;
  loadingMore: boolean;
  error: unknown;
  loadMore: () => void;
  reload: () => void;
}

interface State<T> {
  items: T[];
  nextCursor: string | null;
  loading: boolean;
  loadingMore: boolean;
  error: unknown;
}

const empty = { items: [], nextCursor: null, loading: true, loadingMore: false, error: undefined };

export function usePaged<T>(load: PageLoader<T>, pageSize: number, maxLimit: number): Paged<T> {
  const [state, setState] = useState<State<T>>(empty);
  const latest = useRef(load);
  const shown = useRef(0);
  const cursor = useRef<string | null>(null);
  const inFlight = useRef<AbortController | null>(null);
  shown.current = state.items.length;
  cursor.current = state.nextCursor;

  /** Fetches from the start (replacing the list) or from `after` (adding to it). */
  const fetchPage = useCallback((fn: PageLoader<T>, after: string | null, limit: number) => {
    inFlight.current?.abort();
    const controller = new AbortController();
    inFlight.current = controller;
    if (after) setState((s) => ({ ...s, loadingMore: true, error: undefined }));
    fn(after, limit, controller.signal).then(
      (page) => {
        if (controller.signal.aborted) return;
        setState((s) => ({
          items: after ? [...s.items, ...page.items] : page.items,
          nextCursor: page.nextCursor,
          loading: false,
          loadingMore: false,
          error: undefined,
        }));
      },
      (error: unknown) => {
        if (!controller.signal.aborted)
          setState((s) => ({ ...s, loading: false, loadingMore: false, error }));
      },
    );
  }, []);

  useEffect(() => {
    latest.current = load;
    setState((s) => (s.loading && s.items.length === 0 ? s : empty));
    fetchPage(load, null, pageSize);
    return () => inFlight.current?.abort();
  }, [load, pageSize, fetchPage]);

  const reload = useCallback(
    () => fetchPage(latest.current, null, Math.min(maxLimit, Math.max(pageSize, shown.current))),
    [fetchPage, pageSize, maxLimit],
  );
  const loadMore = useCallback(() => {
    if (cursor.current) fetchPage(latest.current, cursor.current, pageSize);
  }, [fetchPage, pageSize]);

  return {
    items: state.items,
    hasMore: state.nextCursor !== null,
    loading: state.loading,
    loadingMore: state.loadingMore,
    error: state.error,
    loadMore,
    reload,
  };
}
