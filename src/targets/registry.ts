// The connector types jitflow knows, by `type`.

import { customTarget } from "./custom.ts";
import type { ConnectorType } from "./target.ts";
import { webhookTarget } from "./webhook.ts";

export const connectorTypes: ReadonlyMap<string, ConnectorType<unknown>> = new Map<
  string,
  ConnectorType<unknown>
>([
  [customTarget.type, customTarget as ConnectorType<unknown>],
  [webhookTarget.type, webhookTarget as ConnectorType<unknown>],
]);
