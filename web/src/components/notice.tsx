// Messages in the page: errors (announced at once), information, success, and "loading".

import type { ReactNode } from "react";
import { describeError } from "../api.ts";

export function ErrorNotice({ error, action }: { error: unknown; action?: string }) {
  return (
    <div className="notice notice-error" role="alert">
      {describeError(error, action)}
    </div>
  );
}

export function Notice({
  tone = "info",
  children,
}: {
  tone?: "info" | "success" | "warning";
  children: ReactNode;
}) {
  return <div className={`notice notice-${tone}`}>{children}</div>;
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="loading" role="status">
      <span className="spinner" aria-hidden="true" />
      Loading {what}…
    </p>
  );
}

/** What a list looks like with nothing in it: what that means and what to do. */
export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      <p className="empty-title">{title}</p>
      {children}
    </div>
  );
}
