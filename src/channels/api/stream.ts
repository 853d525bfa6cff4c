// GET /api/v1/stream: server-sent events telling each connected client of changes to requests it may see.

import type { Context } from "hono";
import { type SSEStreamingApi, streamSSE } from "hono/streaming";
import type { EngineDeps } from "../../engine/deps.ts";
import {
  lastChangeSeq,
  requestChangesAfter,
  streamAudienceOf,
  type WatchedChange,
} from "../../engine/read/changes.ts";
import { type ApiEnv, actorOf, credentialsCheck } from "./auth.ts";

export interface EventStreamOptions {
  /** How often the audit log is read while a client is connected (real time, not the engine's clock). */
  pollMs?: number;
  /** How often every client gets a ping. */
  pingMs?: number;
  /** Events read per query. */
  batch?: number;
  /** Writes a client may leave unread before it is dropped (it reconnects and catches up by reloading). */
  maxBacklog?: number;
  /** Streams one person may have open at once; opening one more ends their oldest. */
  maxPerPerson?: number;
}

export interface EventStream {
  /** Serves one client: answers with the stream once the poller is tailing the log. */
  handle(c: Context<ApiEnv>): Promise<Response>;
  /** Ends every open stream and stops the poller. Call it before closing the HTTP server. */
  close(): Promise<void>;
}

interface Client {
  /** Whose stream it is (their email), whichever token or session opened it. */
  person: string;
  sees(change: WatchedChange): boolean;
  send(event: "request" | "ping", data: unknown): void;
  /** Are the caller's credentials still good (not signed out, not revoked), and the stream not too old? */
  stillValid(): Promise<boolean>;
  end(): void;
}

/** A stream is closed after this long; EventSource reconnects by itself, authenticating again. */
const maxStreamMs = 60 * 60_000;

/**
 * One poller per process, whatever the number of clients: while at least one is connected it reads the
 * audit events after the last seq it saw (starting from the newest one when the first client connects)
 * and hands each to the clients that may see its request. Every replica writes the same table, so a
 * client hears of changes made through any of them.
 */
export function createEventStream(deps: EngineDeps, options: EventStreamOptions = {}): EventStream {
  const pollMs = options.pollMs ?? 250;
  const pingMs = options.pingMs ?? 15_000;
  const batch = options.batch ?? 500;
  const maxBacklog = options.maxBacklog ?? 1000;
  // Each open stream holds a connection and its buffers (~70 KB): without a limit, one person's token or
  // session could open them until the server runs out of memory.
  const maxPerPerson = options.maxPerPerson ?? 20;
  const clients = new Set<Client>();
  const now = () => new Date(deps.clock.now()).toISOString();
  /** The seq of the last event handed out. */
  let after = 0;
  let ready: Promise<void> | undefined;
  let running: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  let closed = false;

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      timer.unref();
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Starts the poller unless it runs; resolves once it knows where the log ends. */
  function start(): Promise<void> {
    if (ready) return ready;
    let started!: () => void;
    let failed!: (err: unknown) => void;
    ready = new Promise<void>((resolve, reject) => {
      started = resolve;
      failed = reject;
    });
    running = poll(started, failed);
    return ready;
  }

  async function poll(started: () => void, failed: (err: unknown) => void): Promise<void> {
    try {
      after = await lastChangeSeq(deps);
    } catch (err) {
      ready = undefined;
      failed(err);
      return;
    }
    started();
    let lastPing = performance.now();
    for (;;) {
      await sleep(pollMs);
      // Checked and cleared in one step: a client arriving after this starts a new poller.
      if (closed || clients.size === 0) {
        ready = undefined;
        return;
      }
      try {
        await fanOut();
      } catch (err) {
        deps.logger.error({ err }, "live stream: could not read the audit log; trying again");
      }
      if (performance.now() - lastPing >= pingMs) {
        lastPing = performance.now();
        for (const client of clients) {
          // Signed out, session expired, token revoked: the feed stops with the sign-in.
          if (await client.stillValid()) client.send("ping", { at: now() });
          else client.end();
        }
      }
    }
  }

  /** Hands every event after `after` to the clients that may see it, moving `after` page by page. */
  async function fanOut(): Promise<void> {
    for (;;) {
      const read = await requestChangesAfter(deps, after, batch);
      for (const change of read.changes) {
        const data = { requestId: change.requestId, type: change.type, state: change.state, at: change.at };
        for (const client of clients) if (client.sees(change.watched)) client.send("request", data);
      }
      after = read.lastSeq;
      if (!read.full) return;
    }
  }

  async function handle(c: Context<ApiEnv>): Promise<Response> {
    // HEAD gets the headers only: a stream nobody reads must not be registered.
    if (c.req.method !== "GET") {
      return new Response(null, {
        headers: { "content-type": "text/event-stream", "cache-control": "no-store" },
      });
    }
    const actor = actorOf(c);
    const sees = streamAudienceOf(deps, actor);
    const credentialsValid = credentialsCheck(deps, c);
    const openedAt = performance.now();
    let sse: SSEStreamingApi | undefined;
    let writes = Promise.resolve();
    let backlog = 0;
    let ended = false;
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const client: Client = {
      person: actor.email.toLowerCase(),
      sees,
      async stillValid() {
        return performance.now() - openedAt < maxStreamMs && (await credentialsValid());
      },
      send(event, data) {
        const stream = sse;
        if (ended || !stream) return;
        if (backlog >= maxBacklog) {
          client.end();
          return;
        }
        backlog += 1;
        writes = writes.then(async () => {
          try {
            await stream.writeSSE({ event, data: JSON.stringify(data) });
          } catch {
            client.end();
          } finally {
            backlog -= 1;
          }
        });
      },
      end() {
        ended = true;
        clients.delete(client);
        finish();
      },
    };
    const response = streamSSE(c, async (stream) => {
      sse = stream;
      stream.onAbort(() => client.end());
      client.send("ping", { at: now() });
      await finished;
      // Writes a client never read would hold the answer open: drop them.
      if (backlog > 0) stream.abort();
    });
    response.headers.set("Cache-Control", "no-store");
    response.headers.set("X-Accel-Buffering", "no");
    c.req.raw.signal.addEventListener("abort", () => client.end(), { once: true });
    if (closed) {
      client.end();
      return response;
    }
    clients.add(client);
    // Clients are in the order they connected: the first of this person's is their oldest.
    const own = [...clients].filter((other) => other.person === client.person);
    if (own.length > maxPerPerson) own[0]?.end();
    try {
      await start();
    } catch (err) {
      client.end();
      throw err;
    }
    return response;
  }

  return {
    handle,
    async close() {
      closed = true;
      for (const client of clients) client.end();
      wake?.();
      await running;
    },
  };
}

const streams = new WeakMap<EngineDeps, EventStream>();

/** The one event stream of a running server (made on first use), so the server can close it. */
export function eventStreamOf(deps: EngineDeps): EventStream {
  let stream = streams.get(deps);
  if (!stream) {
    stream = createEventStream(deps);
    streams.set(deps, stream);
  }
  return stream;
}
