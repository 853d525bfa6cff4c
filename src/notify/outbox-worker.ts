// Delivers outbox messages (log lines, signed outgoing webhooks) with retries that never drop a message.

import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { CheckedConfig } from "../config/loader.ts";
import { readSecret } from "../config/secrets.ts";
import { DeliveryDeferred, messageOf, PermanentDeliveryError, retryAfterOf } from "../errors.ts";
import { backoffMs } from "../lib/backoff.ts";
import type { Clock } from "../lib/clock.ts";
import { metrics } from "../lib/metrics.ts";
import { postSigned, WebhookError } from "../lib/signed-post.ts";
import { createWorkLoop } from "../lib/work-loop.ts";
import type { Store } from "../store/database.ts";
import { releaseLeases } from "../store/leases.ts";
import {
  claimOutbox,
  markDelivered,
  markDropped,
  markFailed,
  nextOutboxDue,
  pruneDelivered,
  renewOutboxLeases,
  type Sender,
} from "../store/outbox.ts";
import type { OutboxRow } from "../store/schema.ts";
import { pruneSessions } from "../store/sessions.ts";

export interface OutboxWorker {
  wake(): void;
  runOnce(): Promise<void>;
  start(): void;
  /** Claims nothing more and resolves when the batch being delivered has ended. */
  stop(): Promise<void>;
  /** Gives back every lease this worker still holds (a stop that ran out of time). */
  releaseLeases(): Promise<void>;
}

export interface OutboxDeps {
  store: Store;
  config: CheckedConfig;
  clock: Clock;
  logger: Logger;
  /** Senders for kinds beyond log and webhook (Slack), registered by the channels that own them. */
  senders?: Map<string, Sender>;
}

async function deliver(deps: OutboxDeps, message: OutboxRow): Promise<void> {
  const payload = JSON.parse(message.payload) as Record<string, unknown>;
  const sender = deps.senders?.get(message.kind);
  if (sender) return sender.deliver(payload, message);
  switch (message.kind) {
    case "log":
      for (const event of payload.events as { type: string }[]) deps.logger.info({ event }, event.type);
      return;
    case "webhook": {
      const event = payload.event as { type: string };
      const hook = deps.config.config.notify.webhooks.find((h) => h.url === payload.url);
      // The hook was removed from the config, or no longer wants this event: nothing to deliver.
      if (!hook || (hook.events && !hook.events.includes(event.type))) return;
      const body = JSON.stringify(event);
      try {
        await postSigned(hook.url, readSecret(hook.secret), body, AbortSignal.timeout(10_000));
      } catch (err) {
        if (err instanceof WebhookError && err.permanent) throw new PermanentDeliveryError(err.message);
        throw err;
      }
      return;
    }
    default:
      throw new Error(`no sender for outbox messages of kind "${message.kind}"`);
  }
}

export function createOutboxWorker(deps: OutboxDeps, batchSize = 200): OutboxWorker {
  const owner = `outbox-${randomUUID()}`;
  let stopping = false;
  const { sweepIntervalMs, leaseMs, retryBaseMs, retryMaxMs, concurrency } = deps.config.config.scheduler;
  let prunedAt = Number.NEGATIVE_INFINITY;
  /** At most hourly: delete messages delivered longer ago than notify.retainDelivered, and expired sessions. */
  async function pruneNow(): Promise<void> {
    const now = deps.clock.now();
    if (now - prunedAt < 3_600_000) return;
    prunedAt = now;
    const deleted = await pruneDelivered(
      deps.store.db,
      now - deps.config.config.notify.retainDelivered * 1000,
    );
    if (deleted > 0) deps.logger.info({ deleted }, "pruned delivered outbox messages");
    // Expired web sessions and abandoned sign-ins go the same way, on the same hourly beat.
    await pruneSessions(deps.store.db, now);
  }

  /** Claims and delivers batches of due messages until none is left. */
  async function pass(): Promise<void> {
    while (!stopping) {
      const now = deps.clock.now();
      const batch = await claimOutbox(deps.store.db, deps.store.dialect, owner, now, leaseMs, batchSize);
      if (batch.length === 0) break;
      let next = 0;
      const delivered: string[] = [];
      // Actions people took in Slack run hooks and can take a while: the lease lasts as long as the batch.
      const heartbeat = setInterval(() => {
        void renewOutboxLeases(deps.store.db, owner, deps.clock.now() + leaseMs).catch((err: unknown) => {
          deps.logger.warn({ err }, "could not renew outbox leases");
        });
      }, leaseMs / 3);
      try {
        await Promise.all(
          Array.from({ length: Math.min(concurrency, batch.length) }, async () => {
            while (next < batch.length) {
              const message = batch[next++] as OutboxRow;
              try {
                await deliver(deps, message);
                if (deps.senders?.get(message.kind)?.markEach) {
                  await markDelivered(deps.store.db, [message.id], owner, deps.clock.now());
                } else {
                  delivered.push(message.id);
                }
              } catch (err) {
                if (err instanceof DeliveryDeferred) {
                  await markFailed(
                    deps.store.db,
                    message.id,
                    owner,
                    err.message,
                    deps.clock.now() + err.retryAfterMs,
                    false,
                  );
                  continue;
                }
                if (err instanceof PermanentDeliveryError) {
                  metrics.outboxFailures.inc({ kind: message.kind });
                  deps.logger.error(
                    { outboxId: message.id, kind: message.kind, error: err.message },
                    "outbox message cannot be delivered; dropped",
                  );
                  await markDropped(deps.store.db, message.id, owner, err.message, deps.clock.now());
                  continue;
                }
                const asked = retryAfterOf(err) ?? 0;
                const delay = Math.max(asked, backoffMs(message.attempts, retryBaseMs, retryMaxMs));
                metrics.outboxFailures.inc({ kind: message.kind });
                deps.logger.warn(
                  {
                    outboxId: message.id,
                    kind: message.kind,
                    attempts: message.attempts + 1,
                    error: messageOf(err),
                  },
                  "outbox delivery failed; will retry",
                );
                await markFailed(deps.store.db, message.id, owner, messageOf(err), deps.clock.now() + delay);
              }
            }
          }),
        );
      } finally {
        clearInterval(heartbeat);
      }
      await markDelivered(deps.store.db, delivered, owner, deps.clock.now());
    }
    await pruneNow();
  }

  const loop = createWorkLoop({
    name: "outbox",
    clock: deps.clock,
    logger: deps.logger,
    sweepIntervalMs,
    pass,
    nextDue: () => nextOutboxDue(deps.store.db, deps.clock.now()),
  });
  return {
    wake: () => loop.wake(deps.clock.now()),
    runOnce: () => loop.kick(),
    start: () => loop.start(),
    stop: () => {
      stopping = true;
      return loop.stop();
    },
    releaseLeases: () => releaseLeases(deps.store.db, "outbox", { by: owner }),
  };
}
