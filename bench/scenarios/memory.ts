// Memory holding 100,000 active grants (long durations) with the scheduler and outbox worker running.
//   memory.ts create DIR  — in a fresh database in DIR: idle sample, then grants through the engine,
//                           cloned in SQL up to the total, then scheduler sweeps and more submits.
//   memory.ts restart DIR — a new process over that database: start-up, sweeps, more submits.

import { sql } from "kysely";
import { countInState, memory, report, sleep, startRuntime, submitMany, waitForActive } from "../support.ts";

const [mode, dir, totalArg, viaEngineArg] = process.argv.slice(2);
if ((mode !== "create" && mode !== "restart") || !dir) {
  throw new Error("usage: memory.ts create|restart DIR [TOTAL] [VIA_ENGINE]");
}
const total = Number(totalArg ?? 100_000);
const viaEngine = Number(viaEngineArg ?? 2000);
const extra = 1000;
const day = 86_400_000;

const rt = await startRuntime({ dir });
try {
  const { db } = rt.deps.store;
  const sweepMs = rt.deps.config.config.scheduler.sweepIntervalMs;
  let idle: ReturnType<typeof memory> | undefined;
  let first = 0;
  if (mode === "create") {
    await sleep(500);
    idle = memory();
    await submitMany(rt, viaEngine, 32, () => 7 * 86_400);
    await waitForActive(rt, viaEngine);
    // Fill up to `total` with copies of an engine-made active grant (own id, requester, expiry in 1–7 days).
    const now = Date.now();
    const template = await db
      .selectFrom("requests")
      .selectAll()
      .where("state", "=", "active")
      .limit(1)
      .executeTakeFirstOrThrow();
    for (let from = viaEngine; from < total; from += 10_000) {
      const to = Math.min(total, from + 10_000) - 1;
      await db.transaction().execute(async (trx) => {
        await sql`
          with recursive seq(i) as (select ${from} union all select i + 1 from seq where i < ${to})
          insert into requests (id, flow, target, requester, requester_name, requester_role, state, duration,
                                fields, context, source, created_at, updated_at, decided_at, activated_at,
                                expires_at, version, step, destination, reminders, extensions, extended_seconds)
          select lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2)
                   || '-a' || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
                 t.flow, t.target, 'user' || i || '@example.com', 'user' || i, t.requester_role, 'active',
                 t.duration, t.fields, t.context, t.source, ${now}, ${now}, ${now}, ${now},
                 ${now + day} + (i * 2654435761) % ${6 * day}, 2, 0, 0, 0, 0, 0
          from seq, requests t where t.id = ${template.id}`.execute(trx);
        // Each its grant, made as the template's was, due at its expiry.
        await sql`
          insert into grants (id, request_id, target, requester, grant_key, identity, granted_with, created_at,
                              due_at, attempts)
          select r.id || '/' || r.target, r.id, r.target, r.requester, g.grant_key, r.requester, g.granted_with,
                 r.created_at, r.expires_at, 1
          from requests r, grants g
          where g.request_id = ${template.id} and r.state = 'active'
            and not exists (select 1 from grants x where x.request_id = r.id)`.execute(trx);
        await sql`
          insert into decisions (request_id, actor, decision, reason, at)
          select id, 'hook:onRequest', 'approve', 'benchmark', created_at from requests r
          where not exists (select 1 from decisions d where d.request_id = r.id)`.execute(trx);
      });
    }
    rt.scheduler.wake(Date.now());
    first = total;
  } else {
    first = total + extra;
  }
  // Let the scheduler sweep over the grants a few times, and keep submitting through the engine.
  await sleep(sweepMs * 2 + 500);
  await submitMany(rt, extra, 32, () => 7 * 86_400, { first });
  const active = mode === "create" ? total + extra : total + 2 * extra;
  await waitForActive(rt, active);
  await sleep(sweepMs + 500);
  report({
    mode,
    active: await countInState(rt, "active"),
    viaEngine: mode === "create" ? viaEngine + extra : extra,
    idle,
    holding: memory(),
  });
} finally {
  await rt.close();
}
