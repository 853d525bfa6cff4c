// The `custom` target: escalate/deescalate/list are functions exported by the flow's implementation module.

import { z } from "zod";
import type { ConnectorType } from "./target.ts";
import { PermanentTargetError } from "./target.ts";

/** User code cannot be cancelled, but the scheduler stops waiting for it when the signal fires. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal, what: string): Promise<T> {
  if (signal.aborted) return Promise.reject(new Error(`${what} was not started: the call timed out`));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error(`${what} did not finish in time; will retry`));
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}

export const customTarget: ConnectorType<Record<string, unknown>> = {
  type: "custom",
  settings: z.looseObject({}),
  create(info) {
    return {
      async escalate({ evt, module, signal }) {
        if (!module?.escalate) throw new PermanentTargetError("the flow module does not export escalate()");
        await untilAborted(module.escalate(evt, { signal }), signal, "escalate()");
        return undefined;
      },
      async deescalate({ evt, module, signal }) {
        if (!module?.deescalate) {
          throw new PermanentTargetError("the flow module does not export deescalate()");
        }
        await untilAborted(module.deescalate(evt, { signal }), signal, "deescalate()");
      },
      async list({ module, signal }) {
        // A custom target's identities are what its module says: the email unless getIdentity() maps it.
        if (!module?.list) throw new PermanentTargetError("the flow module does not export list()");
        return untilAborted(module.list(info), signal, "list()");
      },
    };
  },
};
