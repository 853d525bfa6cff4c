// The Okta SDK's requests with an abort signal. Its generated methods take none, and one client serves many
// calls, so the signal travels with the call's async context; a request is never retried (the caller decides).

import { AsyncLocalStorage } from "node:async_hooks";

type OktaSdk = typeof import("@okta/okta-sdk-nodejs");

const callSignal = new AsyncLocalStorage<AbortSignal>();

/** Runs `work` so that the Okta requests it makes carry `signal`. */
export function withOktaSignal<T>(signal: AbortSignal, work: () => T): T {
  return callSignal.run(signal, work);
}

/** The request executor to give the SDK's client: it sends each request with the current call's signal. */
export function signalledExecutor({ RequestExecutor }: OktaSdk): OktaSdk["RequestExecutor"] {
  return class SignalledExecutor extends RequestExecutor {
    override fetch(request: Parameters<InstanceType<typeof RequestExecutor>["fetch"]>[0]) {
      // node-fetch honours `signal`; the SDK's typings omit it (they lean on node-fetch's, not installed).
      return super.fetch({ ...request, signal: callSignal.getStore() } as typeof request);
    }
  };
}

/** What every Okta failure carries: the HTTP status and headers (node-fetch's), and Okta's error code. */
export interface OktaFailure {
  status?: number | string;
  errorCode?: string;
  errorSummary?: string;
  headers?: { get(name: string): string | null };
}
