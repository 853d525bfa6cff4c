// Who is signed in: the server's sign-in mode, the session (with its CSRF token) and /api/v1/me, for the whole app.

import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from "react";
import { ApiError, api, isApiError, onCsrfRefused, onSessionLost, setCsrfToken } from "./api.ts";
import type { AuthConfig, Me, Session } from "./types.ts";

export type SessionState =
  | { status: "loading" }
  | { status: "unavailable"; error: unknown }
  | { status: "signed-out"; config: AuthConfig; expired: boolean }
  | { status: "signed-in"; config: AuthConfig; session: Session; me: Me };

interface SessionContextValue {
  state: SessionState;
  /** Makes a session from /auth/dev (or /auth/session) the current one. */
  signedIn: (session: Session) => Promise<void>;
  signOut: () => Promise<void>;
  retry: () => void;
}

const SessionContext = createContext<SessionContextValue | null>(null);

async function currentSession(signal?: AbortSignal): Promise<Session | null> {
  try {
    return await api.session(signal);
  } catch (error) {
    if (isApiError(error) && error.status === 401) return null;
    throw error;
  }
}

/** /api/v1/me, or what the session already says when the server cannot answer it. */
async function whoAmI(session: Session): Promise<Me> {
  try {
    return await api.me();
  } catch {
    return { email: session.email, name: session.name, role: session.role, approverOf: [] };
  }
}

// setTimeout's longest delay; a session longer than ~24 days is checked again then.
const maxTimer = 2 ** 31 - 1;

export function SessionProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<SessionState>({ status: "loading" });

  const signedIn = useCallback(async (session: Session) => {
    setCsrfToken(session.csrf);
    const me = await whoAmI(session);
    setState((s) => ({
      status: "signed-in",
      config: "config" in s ? s.config : { mode: session.mode, insecure: session.mode === "dev" },
      session,
      me,
    }));
  }, []);

  const lose = useCallback(() => {
    setCsrfToken(null);
    setState((s) =>
      s.status === "signed-in" ? { status: "signed-out", config: s.config, expired: true } : s,
    );
  }, []);

  /** Asks the server how to sign in and whether this browser is signed in already. */
  const start = useCallback((signal?: AbortSignal) => {
    setState({ status: "loading" });
    Promise.all([api.authConfig(signal), currentSession(signal)])
      .then(async ([config, session]) => {
        if (!session) return setState({ status: "signed-out", config, expired: false });
        setCsrfToken(session.csrf);
        const me = await whoAmI(session);
        if (!signal?.aborted) setState({ status: "signed-in", config, session, me });
      })
      .catch((error: unknown) => {
        if (!signal?.aborted) setState({ status: "unavailable", error });
      });
  }, []);

  useEffect(() => {
    const controller = new AbortController();
    start(controller.signal);
    return () => controller.abort();
  }, [start]);

  useEffect(() => {
    onSessionLost(lose);
    onCsrfRefused(async () => {
      const session = await currentSession().catch(() => null);
      setCsrfToken(session?.csrf ?? null);
      if (!session) lose();
      return session?.csrf ?? null;
    });
    return () => {
      onSessionLost(null);
      onCsrfRefused(null);
    };
  }, [lose]);

  const expiresAt = state.status === "signed-in" ? state.session.expiresAt : null;
  useEffect(() => {
    if (!expiresAt) return;
    const timer = window.setTimeout(
      () => {
        if (Date.parse(expiresAt) <= Date.now()) lose();
      },
      Math.min(maxTimer, Math.max(0, Date.parse(expiresAt) - Date.now())),
    );
    return () => window.clearTimeout(timer);
  }, [expiresAt, lose]);

  const signOut = useCallback(async () => {
    try {
      await api.signOut();
    } catch (error) {
      // Already signed out on the server is signed out; anything else is worth showing.
      if (!(isApiError(error) && error.status === 401)) throw error;
    }
    setCsrfToken(null);
    setState((s) =>
      s.status === "signed-in" ? { status: "signed-out", config: s.config, expired: false } : s,
    );
  }, []);

  const retry = useCallback(() => start(), [start]);
  const value = useMemo(() => ({ state, signedIn, signOut, retry }), [state, signedIn, signOut, retry]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionContextValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error("useSession() outside <SessionProvider>");
  return value;
}

/** The signed-in person; pages are only shown to someone signed in. */
export function useSignedIn(): Extract<SessionState, { status: "signed-in" }> &
  Omit<SessionContextValue, "state"> {
  const { state, ...rest } = useSession();
  if (state.status !== "signed-in") throw new ApiError(401, "SESSION_INVALID", "not signed in");
  return { ...state, ...rest };
}
