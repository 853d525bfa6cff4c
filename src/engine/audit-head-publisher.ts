// Publishes the audit chain's head every audit.publishInterval (a log line, a gauge, audit.head webhooks), to be kept outside the database.

import { messageOf } from "../errors.ts";
import { metrics } from "../lib/metrics.ts";
import { readHead } from "../store/audit-log.ts";
import { uuidv7 } from "../store/ids.ts";
import { enqueue, type OutboxMessage } from "../store/outbox.ts";
import type { EngineDeps } from "./deps.ts";

/** The type of the notification; not an audit event (publishing the head must not move it). */
export const auditHeadType = "audit.head";

export interface AuditHeadPublisher {
  start(): void;
  stop(): Promise<void>;
  /** Publishes the head if audit.publishInterval (not 0) has passed since it was last published (tests use it). */
  runOnce(): Promise<void>;
}

/**
 * Someone who can write to the database can rewrite the end of the chain and its head consistently;
 * a head published earlier and kept elsewhere (`jitflow audit verify --expect-head`) shows it.
 */
export function createAuditHeadPublisher(deps: EngineDeps): AuditHeadPublisher {
  const intervalMs = deps.config.config.audit.publishInterval * 1000;
  let publishedAt = Number.NEGATIVE_INFINITY;
  let running: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;

  async function publish(now: number): Promise<void> {
    const head = await readHead(deps.store.db);
    metrics.auditHead.reset();
    if (!head) {
      deps.logger.error("the audit chain's head row is missing: run jitflow audit verify");
      return;
    }
    metrics.auditHead.set({ hash: head.hash }, head.seq);
    deps.logger.info({ seq: head.seq, hash: head.hash }, "audit head");
    const hooks = deps.config.config.notify.webhooks.filter((h) => h.events?.includes(auditHeadType));
    if (hooks.length === 0) return;
    const event = {
      id: uuidv7(now),
      type: auditHeadType,
      requestId: null,
      actor: "jitflow",
      at: new Date(now).toISOString(),
      data: { seq: head.seq, hash: head.hash },
    };
    const messages: OutboxMessage[] = hooks.map((hook) => ({
      kind: "webhook",
      payload: { url: hook.url, event },
      requestId: null,
      // Each head goes to each hook once, whichever replica publishes it first.
      dedupeKey: `${auditHeadType}:${head.hash}:${hook.url}`,
    }));
    await deps.store.transaction((trx) => enqueue(trx, messages, now));
    deps.notify();
  }

  const publisher: AuditHeadPublisher = {
    runOnce() {
      if (intervalMs === 0) return Promise.resolve();
      running ??= (async () => {
        const now = deps.clock.now();
        if (now - publishedAt < intervalMs) return;
        try {
          await publish(now);
          publishedAt = now;
        } catch (err) {
          deps.logger.warn({ error: messageOf(err) }, "could not publish the audit head; will retry");
        }
      })().finally(() => {
        running = undefined;
      });
      return running;
    },
    start() {
      if (intervalMs === 0 || timer) return;
      void publisher.runOnce();
      // Ticks at most a minute apart and the clock decides: timers cannot wait for more than 24.8 days.
      timer = setInterval(() => void publisher.runOnce(), Math.min(intervalMs, 60_000));
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
  return publisher;
}
