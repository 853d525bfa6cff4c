// The quickstart's flow module: an onRequest rule and a custom target that keeps grants in a JSON file.
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { approve, type FlowEvent, type TargetInfo } from "jitflow";

/** Emergencies are approved at once; everything else waits for an approver. */
export async function onRequest(evt: FlowEvent<{ reason: string; urgency?: "Normal" | "Emergency" }>) {
  if (evt.fields.urgency === "Emergency")
    return approve({ reason: "emergency: auto-approved by the quickstart rule" });
  return undefined;
}

interface Grant {
  user: string;
  target: string;
  requestId: string;
  expiresAt: string | null;
}

let queue: Promise<unknown> = Promise.resolve();

/** Reads, changes and atomically rewrites the grants file, one change at a time. */
function update(file: string, change: (grants: Record<string, Grant>) => void): Promise<void> {
  const next = queue.then(async () => {
    let grants: Record<string, Grant> = {};
    try {
      grants = JSON.parse(await readFile(file, "utf8")) as Record<string, Grant>;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    change(grants);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(`${file}.tmp`, `${JSON.stringify(grants, null, 2)}\n`);
    await rename(`${file}.tmp`, file);
  });
  queue = next.catch(() => undefined);
  return next;
}

const fileOf = (evt: FlowEvent) => String(evt.flow.vars.grantsFile);
const keyOf = (evt: FlowEvent) => `${evt.target?.name}:${evt.requester.email}`;

export async function escalate(evt: FlowEvent) {
  await update(fileOf(evt), (grants) => {
    grants[keyOf(evt)] = {
      user: evt.requester.email,
      target: evt.target?.name ?? "",
      requestId: evt.request.id,
      expiresAt: evt.request.expiresAt,
    };
  });
}

export async function deescalate(evt: FlowEvent) {
  await update(fileOf(evt), (grants) => {
    delete grants[keyOf(evt)];
  });
}

export async function list(target: TargetInfo): Promise<string[]> {
  const file = process.env.JITFLOW_GRANTS_FILE ?? ".jitflow/grants.json";
  try {
    const grants = JSON.parse(await readFile(file, "utf8")) as Record<string, Grant>;
    return Object.values(grants)
      .filter((g) => g.target === target.name)
      .map((g) => g.user);
  } catch {
    return [];
  }
}
