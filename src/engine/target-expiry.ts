// Delivers "target.expiry" outbox messages: tells a target that enforces a grant's end itself (a
// login's VALID UNTIL) that the end moved, after an extension.

import { PermanentDeliveryError } from "../errors.ts";
import type { Sender } from "../store/outbox.ts";
import { getDecisions, getRequest } from "../store/requests.ts";
import { PermanentTargetError } from "../targets/target.ts";
import type { EngineDeps } from "./deps.ts";
import { flowOf } from "./engine.ts";
import { grantedTargetOf } from "./granted-targets.ts";
import { systemActor, toEvent } from "./read/views.ts";

export function targetExpirySender(deps: EngineDeps): Sender {
  return {
    async deliver(payload) {
      const row = await getRequest(deps.store.db, String(payload.requestId));
      // Ended (or ending) since: the login is being dropped, and its end no longer matters.
      if (row?.state !== "active" || row.expiresAt === null || row.target === null) return;
      const flow = flowOf(deps, row.flow);
      const evt = toEvent(deps.config, row, await getDecisions(deps.store.db, row.id), systemActor);
      // Where and as the grant was made (its record), like its revocation.
      const prepared = await grantedTargetOf(deps, row, evt, flow?.module);
      if (!prepared.ok) {
        if (prepared.permanent) throw new PermanentDeliveryError(prepared.error);
        throw new Error(prepared.error);
      }
      if (!prepared.connector.setExpiry) return;
      try {
        await prepared.connector.setExpiry({
          evt: { ...evt, name: "setExpiry" },
          module: flow?.module,
          signal: AbortSignal.timeout(deps.config.config.scheduler.targetTimeoutMs),
          identity: prepared.identity,
          settings: prepared.settings,
          expiresAt: new Date(row.expiresAt),
        });
      } catch (err) {
        if (err instanceof PermanentTargetError)
          throw new PermanentDeliveryError(err.message, { cause: err });
        throw err;
      }
    },
  };
}
