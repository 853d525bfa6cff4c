// The `custom` target: escalate/deescalate/list are functions exported by the flow's implementation module.

import { z } from "zod";
import { type ConnectorType, PermanentTargetError, untilAborted } from "./target.ts";

/** User code cannot be cancelled, but the scheduler stops waiting for it when the signal fires. */
function userCall<T>(work: () => Promise<T>, signal: AbortSignal, what: string): Promise<T> {
  if (signal.aborted) return Promise.reject(new Error(`${what} was not started: the call timed out`));
  return untilAborted(work(), signal, () => new Error(`${what} did not finish in time; will retry`));
}

export const customTarget: ConnectorType<Record<string, unknown>> = {
  type: "custom",
  settings: z.looseObject({}),
  create(info) {
    return {
      async escalate({ evt, module, signal }) {
        const escalate = module?.escalate;
        if (!escalate) throw new PermanentTargetError("the flow module does not export escalate()");
        await userCall(() => escalate(evt, { signal }), signal, "escalate()");
        return undefined;
      },
      async deescalate({ evt, module, signal }) {
        const deescalate = module?.deescalate;
        if (!deescalate) throw new PermanentTargetError("the flow module does not export deescalate()");
        await userCall(() => deescalate(evt, { signal }), signal, "deescalate()");
      },
      async list({ module, signal }) {
        // A custom target's identities are what its module says: the email unless getIdentity() maps it.
        const list = module?.list;
        if (!list) throw new PermanentTargetError("the flow module does not export list()");
        return userCall(() => list(info), signal, "list()");
      },
    };
  },
};
