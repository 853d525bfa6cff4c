// The "sandbox" flow (docs/hooks.md, docs/targets.md): a custom target, approvers per project, and a history.
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { deny, type FlowEvent, type PrefetchEvent, type TargetInfo } from "jitflow";

type Sandbox = FlowEvent<{ project: string; reason?: string }>;

/** The projects that exist now; in real life, a call to your inventory. */
const projects: Record<string, string> = { webshop: "Web shop", warehouse: "Data warehouse" };

/** Options for the `project` field (the field has `prefetch: true`). */
export const prefetch = {
  project: async (_evt: PrefetchEvent) =>
    Object.entries(projects).map(([value, label]) => ({ value, label })),
};

/** The project's owners decide (admins always may). */
export async function getApprovers(evt: Sandbox) {
  const owners = evt.flow.vars.owners as Record<string, string[]>;
  return owners[evt.fields.project] ?? [];
}

/** A typed-in project need not be one that prefetch offered: check it when access is about to be granted. */
export async function onEscalate(evt: Sandbox) {
  if (!(evt.fields.project in projects)) {
    return deny({ reason: `project "${evt.fields.project}" does not exist (any more)` });
  }
  return undefined;
}

// The "system" this target grants access in: a JSON file of project admins, plus a history the hooks append to.
interface State {
  admins: Record<string, { requestId: string; expiresAt: string | null }>;
  history: string[];
}

let queue: Promise<unknown> = Promise.resolve();

/** Reads, changes and atomically rewrites the state file, one change at a time. */
function change(file: string, edit: (state: State) => void): Promise<void> {
  const next = queue.then(async () => {
    const state = await read(file);
    edit(state);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
    await rename(`${file}.tmp`, file);
  });
  queue = next.catch(() => undefined);
  return next;
}

async function read(file: string): Promise<State> {
  try {
    return JSON.parse(await readFile(file, "utf8")) as State;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { admins: {}, history: [] };
    throw err;
  }
}

const fileOf = (target: TargetInfo | null) => String(target?.settings.stateFile);
const keyOf = (evt: Sandbox) => `${evt.fields.project}:${evt.requester.email}`;
const note = (evt: Sandbox, what: string) =>
  change(fileOf(evt.target), (s) => {
    s.history.push(`${what} ${keyOf(evt)} ${evt.request.id}`);
  });

/** Grants access. Called again after a crash or a failure, so granting twice must be fine. */
export async function escalate(evt: Sandbox) {
  await change(fileOf(evt.target), (s) => {
    s.admins[keyOf(evt)] = { requestId: evt.request.id, expiresAt: evt.request.expiresAt };
  });
}

/** Removes access. Removing what is already gone must be fine too. */
export async function deescalate(evt: Sandbox) {
  await change(fileOf(evt.target), (s) => {
    delete s.admins[keyOf(evt)];
  });
}

/** Who holds the target now, as the target sees it (for drift detection). */
export async function list(target: TargetInfo) {
  return Object.keys((await read(fileOf(target))).admins).map((key) => key.slice(key.indexOf(":") + 1));
}

/** Runs before access is taken away; it can look, but never stop the revocation. */
export async function onDeescalate(evt: Sandbox) {
  await note(evt, "closing-sessions");
  return undefined;
}

export async function afterRequest(evt: Sandbox) {
  await note(evt, `requested(${evt.request.state})`);
}

export async function afterApprove(evt: Sandbox) {
  await note(evt, `approved-by(${evt.actor.email})`);
}

export async function afterDeny(evt: Sandbox) {
  await note(evt, `denied-by(${evt.actor.email})`);
}

export async function afterEscalate(evt: Sandbox) {
  await note(evt, "granted");
}

export async function afterDeescalate(evt: Sandbox) {
  await note(evt, "removed");
}
