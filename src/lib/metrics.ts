// Prometheus metrics: what operators alert on (failing targets, late revocations, undelivered messages).

import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: "jitflow_process_" });

export const metrics = {
  events: new Counter({
    name: "jitflow_events_total",
    help: "Audit events recorded, by type (request.created, grant.active, grant.ended, hook.failed, …)",
    labelNames: ["type"],
    registers: [registry],
  }),
  targetFailures: new Counter({
    name: "jitflow_target_failures_total",
    help: "Failed target calls (each is retried), by target and action",
    labelNames: ["target", "action"],
    registers: [registry],
  }),
  revocationLateness: new Histogram({
    name: "jitflow_revocation_lateness_seconds",
    help: "Scheduled revocations: time access ended minus its expiry",
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 15, 60, 300],
    registers: [registry],
  }),
  outboxFailures: new Counter({
    name: "jitflow_outbox_failures_total",
    help: "Failed outbox deliveries (each is retried), by kind",
    labelNames: ["kind"],
    registers: [registry],
  }),
  driftChecks: new Counter({
    name: "jitflow_drift_checks_total",
    help: "Drift checks of a target, by result (ok, error: the target could not be listed)",
    labelNames: ["target", "result"],
    registers: [registry],
  }),
  driftFindings: new Gauge({
    name: "jitflow_drift_findings",
    help: "Differences between a target and jitflow's grants at the last check, by kind (missing, unmanaged, outlived)",
    labelNames: ["target", "kind"],
    registers: [registry],
  }),
  auditHead: new Gauge({
    name: "jitflow_audit_head",
    help: "The audit chain's head as last published: its seq (the number of events), labelled with its hash",
    labelNames: ["hash"],
    registers: [registry],
  }),
  driftRevocations: new Counter({
    name: "jitflow_drift_revocations_total",
    help: "Access taken away by drift detection (outlived grants; unmanaged access in drift mode revoke)",
    labelNames: ["target"],
    registers: [registry],
  }),
};

/** GET /metrics: the registry in Prometheus' text format. */
export async function metricsResponse(): Promise<Response> {
  return new Response(await registry.metrics(), { headers: { "content-type": registry.contentType } });
}
