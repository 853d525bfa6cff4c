// The "customer_data" flow of docs/policies.md: the dataset's owners are the first approval step's approvers.
import type { FlowEvent } from "jitflow";

/** The customer_data flow's event, with its field typed as the config declares it. */
type CustomerData = FlowEvent<{ dataset: "orders" | "payments" }>;

/** The owners of the dataset asked for, from the flow's vars; used by the step with `getApprovers: true`. */
export async function getApprovers(evt: CustomerData) {
  const owners = evt.flow.vars.owners as Record<string, string[]>;
  return owners[evt.fields.dataset] ?? [];
}
