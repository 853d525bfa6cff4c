// A receiver for jitflow's webhook calls (docs/targets.md): verify the signature, then grant or take away.
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type Server } from "node:http";

/** True when the call is signed with `secret` and is at most five minutes old. */
export function verifyJitflowSignature(
  secret: string,
  timestamp: string | undefined,
  signature: string | undefined,
  rawBody: string,
  nowSeconds = Math.floor(Date.now() / 1000),
): boolean {
  if (!timestamp || !signature || !/^\d+$/.test(timestamp)) return false;
  if (Math.abs(nowSeconds - Number(timestamp)) > 300) return false; // an old call replayed
  const expected = `v1=${createHmac("sha256", secret).update(`${timestamp}.${rawBody}`).digest("hex")}`;
  const a = Buffer.from(expected);
  const b = Buffer.from(signature);
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface JitflowCall {
  action: "escalate" | "deescalate";
  requestId: string;
  target: { name: string; label: string };
  requester: { email: string };
  expiresAt: string | null;
}

/** A deploy gate: `holders` is who may deploy now. Both actions are idempotent, as jitflow requires. */
export function createDeployGate(secret: string, holders: Set<string>): Server {
  return createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8"); // verify the raw bytes, before any parsing
      const ok = verifyJitflowSignature(
        secret,
        req.headers["x-jitflow-timestamp"] as string | undefined,
        req.headers["x-jitflow-signature"] as string | undefined,
        raw,
      );
      if (!ok) {
        res.writeHead(401).end();
        return;
      }
      const call = JSON.parse(raw) as JitflowCall;
      if (call.action === "escalate") holders.add(call.requester.email);
      else holders.delete(call.requester.email);
      res.writeHead(204).end(); // any 2xx is success; anything else is retried
    });
  });
}
