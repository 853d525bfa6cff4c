// A real HTTP server standing in for a webhook target: verifies signatures, records calls, holds grants, can fail on demand.

import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { verifySignature } from "../../src/notify/signature.ts";

export interface ReceivedCall {
  action: "escalate" | "deescalate";
  requestId: string;
  target: { name: string; label: string };
  requester: { email: string };
  expiresAt: string | null;
  at: number;
}

export interface WebhookReceiver {
  url: string;
  calls: ReceivedCall[];
  /** Calls whose signature did not verify (each answered 401). */
  rejected: number;
  /** Who holds what now: "target:email" keys. */
  grants: Set<string>;
  /** Answer the next n calls with this status instead of 200. */
  failNext(n: number, status?: number): void;
  close(): Promise<void>;
}

export async function startWebhookReceiver(secret: string, port = 0): Promise<WebhookReceiver> {
  let failures = 0;
  let failStatus = 503;
  const receiver: WebhookReceiver = {
    url: "",
    calls: [],
    rejected: 0,
    grants: new Set(),
    failNext(n, status = 503) {
      failures = n;
      failStatus = status;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString();
      const ok = verifySignature(
        secret,
        {
          timestamp: req.headers["x-jitflow-timestamp"] as string | undefined,
          signature: req.headers["x-jitflow-signature"] as string | undefined,
        },
        raw,
        Date.now(),
      );
      if (!ok) {
        receiver.rejected += 1;
        res.writeHead(401).end();
        return;
      }
      if (failures > 0) {
        failures -= 1;
        res.writeHead(failStatus).end();
        return;
      }
      const body = JSON.parse(raw) as Omit<ReceivedCall, "at">;
      receiver.calls.push({ ...body, at: Date.now() });
      const key = `${body.target?.name}:${body.requester?.email}`;
      if (body.action === "escalate") receiver.grants.add(key);
      else if (body.action === "deescalate") receiver.grants.delete(key);
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  server.listen(port, "127.0.0.1");
  await once(server, "listening");
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return receiver;
}
