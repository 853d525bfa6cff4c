// The `custom` target: escalate/deescalate/list are functions exported by the flow's implementation module.

import { z } from "zod";
import type { ConnectorType } from "./target.ts";
import { PermanentTargetError } from "./target.ts";

export const customTarget: ConnectorType<Record<string, unknown>> = {
  type: "custom",
  settings: z.record(z.string(), z.unknown()),
  create(info) {
    return {
      async escalate({ evt, module }) {
        if (!module?.escalate) throw new PermanentTargetError("the flow module does not export escalate()");
        await module.escalate(evt);
      },
      async deescalate({ evt, module }) {
        if (!module?.deescalate)
          throw new PermanentTargetError("the flow module does not export deescalate()");
        await module.deescalate(evt);
      },
      async list({ module }) {
        if (!module?.list) throw new PermanentTargetError("the flow module does not export list()");
        return module.list(info);
      },
    };
  },
};
