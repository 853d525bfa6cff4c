// A request's state as a coloured label that also reads well without colour.

import type { RequestState } from "../types.ts";

const labels: Record<RequestState, string> = {
  pending: "Waiting for approval",
  approved: "Approved",
  denied: "Denied",
  expired: "Expired undecided",
  cancelled: "Cancelled",
  escalating: "Granting",
  active: "Active",
  deescalating: "Removing",
  ended: "Ended",
  failed: "Failed",
};

const tones: Record<RequestState, string> = {
  pending: "wait",
  approved: "good",
  denied: "bad",
  expired: "muted",
  cancelled: "muted",
  escalating: "busy",
  active: "good",
  deescalating: "busy",
  ended: "muted",
  failed: "bad",
};

export const stateLabel = (state: RequestState): string => labels[state] ?? state;

export function StateBadge({ state }: { state: RequestState }) {
  return <span className={`badge badge-${tones[state] ?? "muted"}`}>{stateLabel(state)}</span>;
}
