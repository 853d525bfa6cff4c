// Loads something from the API for a component: data, the error, whether it is loading, and reload().

import { useCallback, useEffect, useRef, useState } from "react";

export interface Resource<T> {
  data: T | undefined;
  error: unknown;
  /** True until the first answer (a reload keeps showing the data it replaces). */
  loading: boolean;
  reload: () => void;
}

interface State<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
}

const empty = { data: undefined, error: undefined, loading: true };

/**
 * Calls `load` on mount, whenever it changes (wrap it in useCallback), and on reload(). A newer call aborts
 * the one in flight, so an old answer never overwrites a new one.
 */
export function useResource<T>(load: (signal: AbortSignal) => Promise<T>): Resource<T> {
  const [state, setState] = useState<State<T>>(empty);
  const latest = useRef(load);
  const inFlight = useRef<AbortController | null>(null);

  const fetchWith = useCallback((fn: (signal: AbortSignal) => Promise<T>) => {
    inFlight.current?.abort();
    const controller = new AbortController();
    inFlight.current = controller;
    fn(controller.signal).then(
      (data) => {
        if (!controller.signal.aborted) setState({ data, error: undefined, loading: false });
      },
      (error: unknown) => {
        if (!controller.signal.aborted) setState((s) => ({ data: s.data, error, loading: false }));
      },
    );
  }, []);

  useEffect(() => {
    latest.current = load;
    // Something else is asked for (other filters, say): the old answer would mislead while the new one loads.
    setState((s) => (s.loading && s.data === undefined && s.error === undefined ? s : empty));
    fetchWith(load);
    return () => inFlight.current?.abort();
  }, [load, fetchWith]);

  const reload = useCallback(() => fetchWith(latest.current), [fetchWith]);
  return { ...state, reload };
}
