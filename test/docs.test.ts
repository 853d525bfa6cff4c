// The docs tell the truth: their examples load and behave as described, and every error code, config option, hook, route and command is documented.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import type { AppsManifestCreateArguments } from "@slack/web-api";
import { Command } from "commander";
import { parse as parseYaml } from "yaml";
import { createDeployGate, verifyJitflowSignature } from "../docs/examples/webhook-receiver.ts";
import { section } from "../src/channels/slack/blocks/build.ts";
import { toldInThread, toldToErrorChannel, toldToRequester } from "../src/channels/slack/planner.ts";
import {
  errorNotice,
  expiringNotice,
  requesterNotice,
  threadNotice,
} from "../src/channels/slack/render/notices.ts";
import { approvalMessage, stateLine } from "../src/channels/slack/render/request-message.ts";
import { registerAudit } from "../src/cli/audit.ts";
import { registerBackup } from "../src/cli/backup.ts";
import { registerCheck } from "../src/cli/check.ts";
import { registerClientCommands } from "../src/cli/client-commands.ts";
import { registerMigrate } from "../src/cli/migrate.ts";
import { registerServe } from "../src/cli/serve.ts";
import { registerTargetCommands } from "../src/cli/target-commands.ts";
import { registerTokens } from "../src/cli/tokens.ts";
import { ConfigError } from "../src/config/loader.ts";
import { configSchema } from "../src/config/schema.ts";
import {
  afterAction,
  type PendingClock,
  pendingAction,
  pendingDueAt,
  stepBegins,
} from "../src/engine/approval/policy.ts";
import { commands as lifecycleCommands, states, transition } from "../src/engine/lifecycle.ts";
import { loadConfig } from "../src/engine/load-config.ts";
import { plainPolicyView, type RequestView } from "../src/engine/read/views.ts";
import { errorCatalogue } from "../src/errors.ts";
import { signBody } from "../src/lib/signature.ts";
import { createToken, type TokenRole } from "../src/store/tokens.ts";
import { connectorTypes } from "../src/targets/registry.ts";
import { createSqliteDatabase, type TestDatabase } from "./support/databases.ts";
import {
  type Client,
  client,
  eventually,
  importJitflow,
  startTestServer,
  type TestServer,
  waitForState,
  writeTree,
} from "./support/harness.ts";

const execFileAsync = promisify(execFile);
const root = fileURLToPath(new URL("..", import.meta.url));
const read = (path: string) => readFileSync(join(root, path), "utf8");
const mainTs = join(root, "src/cli/main.ts");

/** Runs `jitflow ARGS` as a process; resolves with its exit code and output whatever the code. */
function jitflow(args: string[], env: Record<string, string> = {}, cwd = root) {
  const base = { ...process.env };
  for (const name of ["JITFLOW_URL", "JITFLOW_TOKEN", "JITFLOW_DATABASE_URL", "JITFLOW_CONFIG"])
    delete base[name];
  return execFileAsync(process.execPath, [mainTs, ...args], { env: { ...base, ...env }, cwd }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err: { code: number; stdout: string; stderr: string }) => ({
      code: err.code,
      stdout: err.stdout,
      stderr: err.stderr,
    }),
  );
}

const docFiles = [
  "README.md",
  ...readdirSync(join(root, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
];

/** The files a docs example config needs next to it, keyed by their path relative to the config. */
function exampleFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of readdirSync(join(root, "docs/examples/flows")))
    files[`flows/${name}`] = read(`docs/examples/flows/${name}`);
  return files;
}

/** A tiny receiver for notify.webhooks: checks each call's signature with the docs' verifier and keeps the events. */
async function startAuditFeed(
  secret: string,
): Promise<{ url: string; events: any[]; rejected: number; server: Server }> {
  const feed = { url: "", events: [] as any[], rejected: 0, server: undefined as unknown as Server };
  feed.server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString();
      const ts = req.headers["x-jitflow-timestamp"] as string | undefined;
      const sig = req.headers["x-jitflow-signature"] as string | undefined;
      if (!verifyJitflowSignature(secret, ts, sig, raw)) {
        feed.rejected += 1;
        res.writeHead(401).end();
        return;
      }
      feed.events.push(JSON.parse(raw));
      res.writeHead(200).end();
    });
  });
  feed.server.listen(0, "127.0.0.1");
  await once(feed.server, "listening");
  feed.url = `http://127.0.0.1:${(feed.server.address() as AddressInfo).port}/feed`;
  return feed;
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** An API client for any email, with a token made on the server's database. */
async function as(t: TestServer, email: string, role: TokenRole = "member"): Promise<Client> {
  const { token } = await createToken(
    t.server.deps.store.db,
    { user: email, role, name: "docs", expiresAt: null },
    Date.now(),
  );
  return client(t.url, token);
}

describe("docs/examples/jitflow.config.ts loads as documented", () => {
  const env = { DEPLOY_GATE_SECRET: "gate-secret", AUDIT_FEED_SECRET: "feed-secret" };

  test("its flows, targets and defaults", async () => {
    const loaded = await loadConfig(join(root, "docs/examples/jitflow.config.ts"), env);
    assert.deepEqual([...loaded.flows.keys()], ["deploy", "sandbox", "vendor_access"]);
    assert.deepEqual(
      [...loaded.targets.values()].map((t) => [t.info.name, t.info.type, t.info.label]),
      [
        ["deploy_gate", "webhook", "Production deploy gate"],
        ["sandbox_admin", "custom", "Sandbox project admin"],
      ],
    );
    // Secrets are referenced, and shown to hooks only as a marker.
    assert.equal(loaded.targets.get("deploy_gate")?.info.settings.secret, "[secret DEPLOY_GATE_SECRET]");
    const deploy = loaded.flows.get("deploy");
    assert.deepEqual(deploy?.config.durations, [900, 3600, 14400]);
    assert.equal(deploy?.maxDuration, 14400);
    assert.equal(deploy?.config.requestTimeout, 14400);
    assert.equal(typeof deploy?.module?.onRequest, "function");
    const sandbox = loaded.flows.get("sandbox");
    assert.equal(sandbox?.config.requestTimeout, 86400, "default: one day");
    assert.equal(sandbox?.config.allowRevoke, true, "default");
    assert.deepEqual(sandbox?.config.allowedSources, ["slack", "web", "api"], "default");
    assert.equal(sandbox?.config.fields[0]?.required, true, "fields are required by default");
    const vendor = loaded.flows.get("vendor_access");
    assert.deepEqual(vendor?.config.targets, [], "approval only");
    assert.equal(vendor?.maxDuration, 0);
    assert.equal(vendor?.config.approvers?.minApprovals, 2);
    assert.deepEqual(vendor?.config.approvers?.users, [], "default");
    assert.equal(loaded.config.hooks.timeoutMs, 5000);
    // "every option, with the defaults written out": the scheduler's, one by one.
    const defaults = configSchema.parse({});
    assert.deepEqual(loaded.config.scheduler, defaults.scheduler);
    for (const key of Object.keys(defaults.scheduler))
      assert.match(
        read("docs/examples/jitflow.config.ts"),
        new RegExp(`^ {4}${key}: `, "m"),
        `scheduler.${key}`,
      );
    assert.equal(loaded.config.scheduler.targetTimeoutMs, 30_000);
    assert.equal(
      vendor?.config.fields.find((f) => f.name === "review_every")?.default,
      "1w",
      "a duration field's default may be written as a duration",
    );
    assert.deepEqual(loaded.config.notify.webhooks[0]?.secret, { env: "AUDIT_FEED_SECRET" });
  });

  test("a secret's environment variable must be set, and the problem names its path", async () => {
    await assert.rejects(loadConfig(join(root, "docs/examples/jitflow.config.ts"), {}), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(
        err.problems.map((p) => `${p.path}: ${p.message}`),
        [
          "targets.deploy_gate.secret: environment variable DEPLOY_GATE_SECRET is not set",
          "notify.webhooks[0].secret: environment variable AUDIT_FEED_SECRET is not set",
        ],
      );
      return true;
    });
  });

  test("integration secrets and the scheduler's lease are checked as docs/configuration.md says", async () => {
    const doc = read("docs/configuration.md");
    const integrations = codeBlockAfter(doc, "<!-- integrations example -->");
    const dir = writeTree({
      "integrations.config.ts": `${importJitflow}\nexport default defineConfig({\n${integrations}\n});\n`,
      "lease.config.ts": `${importJitflow}\nexport default defineConfig({ scheduler: { leaseMs: 30_000 } });\n`,
    });
    try {
      const problems = async (file: string, env: Record<string, string>) =>
        loadConfig(join(dir, file), env).then(
          () => [],
          (err: unknown) => {
            assert.ok(err instanceof ConfigError, String(err));
            return err.problems.map((p) => `${p.path}: ${p.message}`);
          },
        );
      const missing = await problems("integrations.config.ts", {});
      assert.deepEqual(missing, [
        "integrations.directory.bindPassword: environment variable LDAP_BIND_PASSWORD is not set",
      ]);
      assert.ok(doc.includes(`\`${missing[0]}\``), "the message docs/configuration.md quotes");
      assert.deepEqual(await problems("integrations.config.ts", { LDAP_BIND_PASSWORD: "p" }), []);
      const lease = await problems("lease.config.ts", {});
      assert.equal(lease.length, 1);
      assert.ok(doc.includes(`\`${lease[0]}\``), `docs/configuration.md quotes ${lease[0]}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the quickstart (README) loads with its two flows", async () => {
    const loaded = await loadConfig(join(root, "examples/quickstart/jitflow.config.ts"), {});
    assert.deepEqual([...loaded.flows.keys()], ["staging_db", "admin_console"]);
  });

  test("jitflow check prints what docs/configuration.md shows", async () => {
    const good = await jitflow(["check", "--config", "docs/examples/jitflow.config.ts"], env);
    assert.equal(good.code, 0, good.stderr);
    assert.equal(
      good.stdout,
      `ok: ${join(root, "docs/examples/jitflow.config.ts")}: 3 flow(s), 2 target(s), 0 integration(s)\n`,
    );
    const bad = await jitflow(["check", "--config", "docs/examples/broken.config.ts"]);
    assert.equal(bad.code, 1);
    const shown = codeBlockAfter(
      read("docs/configuration.md"),
      "<!-- output: jitflow check --config docs/examples/broken.config.ts -->",
    );
    const file = join(root, "docs/examples/broken.config.ts");
    assert.equal(bad.stderr.replaceAll(file, "/srv/jitflow/broken.config.ts"), `${shown}\n`);
  });
});

describe("docs/examples through a real server", () => {
  let t: TestServer;
  let gate: Server;
  const holders = new Set<string>();
  let feed: Awaited<ReturnType<typeof startAuditFeed>>;
  let stateDir: string;
  let stateFile: string;
  let alice: Client;
  let bob: Client;
  let carol: Client;
  let ci: Client;
  let opsLead: Client;
  let sreLead: Client;
  let webLead: Client;
  let dataLead: Client;

  before(async () => {
    gate = createDeployGate("gate-secret", holders);
    gate.listen(0, "127.0.0.1");
    await once(gate, "listening");
    feed = await startAuditFeed("feed-secret");
    stateDir = mkdtempSync(join(tmpdir(), "jitflow-docs-"));
    stateFile = join(stateDir, "sandbox.json");
    t = await startTestServer({
      config: read("docs/examples/jitflow.config.ts"),
      files: exampleFiles(),
      env: {
        DEPLOY_GATE_URL: `http://127.0.0.1:${(gate.address() as AddressInfo).port}/jitflow`,
        DEPLOY_GATE_SECRET: "gate-secret",
        AUDIT_FEED_URL: feed.url,
        AUDIT_FEED_SECRET: "feed-secret",
        SANDBOX_STATE_FILE: stateFile,
      },
    });
    alice = await as(t, "alice@example.com");
    bob = await as(t, "bob@example.com");
    carol = await as(t, "carol@example.com");
    ci = await as(t, "ci@example.com", "bot");
    opsLead = await as(t, "ops-lead@example.com");
    sreLead = await as(t, "sre-lead@example.com");
    webLead = await as(t, "web-lead@example.com");
    dataLead = await as(t, "data-lead@example.com");
  });
  after(async () => {
    await t?.close();
    if (gate) await close(gate);
    if (feed) await close(feed.server);
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  const state = () =>
    JSON.parse(readFileSync(stateFile, "utf8")) as {
      admins: Record<string, { requestId: string; expiresAt: string | null }>;
      history: string[];
    };

  describe("deploy.ts", () => {
    test("onRequest: an Emergency is approved by the rule and the deploy gate is called", async () => {
      const res = await alice.post("/api/v1/requests", {
        flow: "deploy",
        duration: "15m",
        fields: { reason: "fix checkout", urgency: "Emergency" },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.ok(["escalating", "active"].includes(res.body.state));
      assert.deepEqual(
        res.body.decisions.map((d: any) => [d.actor, d.reason]),
        [["hook:onRequest", "emergency: approved by rule, reviewed afterwards"]],
      );
      await waitForState(alice, res.body.id, ["active"]);
      assert.ok(holders.has("alice@example.com"), "the docs' receiver verified the signed call");
    });

    test("onRequest: without a ticket the request is ignored, and nothing is recorded", async () => {
      const before = (await alice.get("/api/v1/requests?mine=true")).body.items.length;
      const res = await alice.post("/api/v1/requests", {
        flow: "deploy",
        fields: { reason: "weekly release" },
      });
      assert.equal(res.status, 409);
      assert.equal(res.body.error.code, "HOOK_IGNORED");
      assert.equal(
        res.body.error.message,
        "add a change ticket (--field ticket=CHG-123) or set urgency=Emergency",
      );
      assert.equal((await alice.get("/api/v1/requests?mine=true")).body.items.length, before);
    });

    test("onRequest: CI asking for more than an hour is denied, and the denial is recorded", async () => {
      const res = await ci.post("/api/v1/requests", {
        flow: "deploy",
        duration: "4h",
        requester: "carol@example.com",
        fields: { reason: "release train", ticket: "CHG-7" },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.equal(res.body.state, "denied");
      assert.equal(res.body.requester.email, "carol@example.com");
      assert.deepEqual(
        res.body.decisions.map((d: any) => [d.actor, d.decision, d.reason]),
        [["hook:onRequest", "deny", "CI jobs get at most 1h of deploy access"]],
      );
    });

    test("onPrompt: only CI may ask for someone else; an admin asking for alice is ignored", async () => {
      const admin = await opsLead.post("/api/v1/requests", {
        flow: "deploy",
        requester: "alice@example.com",
        fields: { reason: "x", ticket: "CHG-1" },
      });
      assert.equal(admin.status, 409);
      assert.equal(admin.body.error.code, "HOOK_IGNORED");
      assert.equal(admin.body.error.message, "only CI may request deploy access for someone else");
      const byCi = await ci.post("/api/v1/requests", {
        flow: "deploy",
        requester: "carol@example.com",
        fields: { reason: "release train", ticket: "CHG-8" },
      });
      assert.equal(byCi.status, 201);
      assert.equal(byCi.body.state, "pending");
      const member = await alice.post("/api/v1/requests", {
        flow: "deploy",
        requester: "bob@example.com",
        fields: { reason: "x", ticket: "CHG-1" },
      });
      assert.equal(member.body.error.code, "ACT_AS_NOT_ALLOWED", "the act-as rule comes before any hook");
    });

    test("onApprove: more than an hour needs a reason; then the configured approver approves and revoke ends it", async () => {
      const created = await bob.post("/api/v1/requests", {
        flow: "deploy",
        duration: "4h",
        fields: { reason: "migration", ticket: "CHG-42" },
      });
      assert.equal(created.body.state, "pending");
      const id = created.body.id;
      // Alice has no part in bob's request: it is answered as if it did not exist.
      const outsider = await alice.post(`/api/v1/requests/${id}/approve`);
      assert.equal(outsider.body.error.code, "REQUEST_NOT_FOUND");
      const noReason = await sreLead.post(`/api/v1/requests/${id}/approve`);
      assert.equal(noReason.status, 409);
      assert.equal(noReason.body.error.code, "HOOK_IGNORED");
      assert.equal(
        noReason.body.error.message,
        "approving more than 1h of deploy access needs a reason (--reason)",
      );
      assert.equal((await bob.get(`/api/v1/requests/${id}`)).body.decisions.length, 0, "nothing recorded");
      const ok = await sreLead.post(`/api/v1/requests/${id}/approve`, { reason: "CHG-42 is scheduled" });
      assert.equal(ok.status, 200);
      await waitForState(bob, id, ["active"]);
      assert.ok(holders.has("bob@example.com"));
      const revoked = await bob.post(`/api/v1/requests/${id}/revoke`);
      assert.equal(revoked.status, 200);
      const ended = await waitForState(bob, id, ["ended"]);
      assert.equal(ended.endedReason, "revoked");
      assert.ok(!holders.has("bob@example.com"));
    });

    test("onDeny: a denial must say why", async () => {
      const created = await carol.post("/api/v1/requests", {
        flow: "deploy",
        fields: { reason: "hotfix", ticket: "CHG-9" },
      });
      const id = created.body.id;
      const silent = await sreLead.post(`/api/v1/requests/${id}/deny`);
      assert.equal(silent.body.error.code, "HOOK_IGNORED");
      assert.equal(silent.body.error.message, "say why you deny (--reason): the requester sees it");
      const denied = await sreLead.post(`/api/v1/requests/${id}/deny`, { reason: "freeze until Monday" });
      assert.equal(denied.body.state, "denied");
      assert.equal(denied.body.decisions[0].reason, "freeze until Monday");
    });

    test("notify.webhooks: the audit feed gets the chosen events, signed", async () => {
      const types = await eventually(async () => {
        const seen = new Set(feed.events.map((e) => e.type));
        return seen.has("grant.ended") && seen.has("request.denied") ? seen : undefined;
      }, "the audit feed");
      assert.equal(feed.rejected, 0);
      assert.ok(types.has("request.created") && types.has("grant.active"));
      assert.ok(!types.has("grant.escalating"), "events not listed are not sent");
      const created = feed.events.find((e) => e.type === "request.created");
      // The body has the fields, in the order, of the example in docs/configuration.md: `id` first.
      const shown = JSON.parse(
        codeBlockAfter(read("docs/configuration.md"), "<!-- body of a notify.webhooks call -->"),
      );
      assert.deepEqual(Object.keys(created), Object.keys(shown));
      assert.equal(Object.keys(created)[0], "id");
      // `id` is the audit event's id, to de-duplicate at-least-once deliveries.
      const audit = await opsLead.get(`/api/v1/audit?requestId=${created.requestId}`);
      const event = audit.body.items.find((e: any) => e.type === "request.created");
      assert.equal(created.id, event.id);
    });
  });

  describe("sandbox.ts", () => {
    test("prefetch offers the projects, filtered by q", async () => {
      const all = await alice.get("/api/v1/flows/sandbox/fields/project/options");
      assert.deepEqual(all.body.items, [
        { value: "webshop", label: "Web shop" },
        { value: "warehouse", label: "Data warehouse" },
      ]);
      const some = await alice.get("/api/v1/flows/sandbox/fields/project/options?q=ware");
      assert.deepEqual(some.body.items, [{ value: "warehouse", label: "Data warehouse" }]);
    });

    test("getApprovers: the project's owner decides; the custom target grants and takes away; after hooks run", async () => {
      const created = await alice.post("/api/v1/requests", {
        flow: "sandbox",
        fields: { project: "webshop" },
      });
      assert.equal(created.status, 201);
      const id = created.body.id;
      // getApprovers names only the web shop's owner: to the other owner the request does not exist.
      const otherOwner = await dataLead.post(`/api/v1/requests/${id}/approve`);
      assert.equal(otherOwner.body.error.code, "REQUEST_NOT_FOUND");
      const approving = Date.now();
      assert.equal((await webLead.post(`/api/v1/requests/${id}/approve`)).status, 200);
      const active = await waitForState(alice, id, ["active"]);
      assert.equal(active.duration, 3600, "the first duration");
      assert.deepEqual(Object.keys(state().admins), ["webshop:alice@example.com"]);
      // The expiry is written right before the call: escalate() is told the one jitflow enforces.
      assert.equal(state().admins["webshop:alice@example.com"]?.expiresAt, active.expiresAt);
      const from = Date.parse(active.expiresAt) - 3600_000;
      assert.ok(
        from >= approving && from <= Date.parse(active.activatedAt),
        `expiresAt is the call's start plus the duration: after the approval, by the activation (${new Date(from).toISOString()})`,
      );
      const sandbox = await import("../docs/examples/flows/sandbox.ts");
      const target = t.server.deps.config.targets.get("sandbox_admin")?.info;
      assert.ok(target);
      assert.deepEqual(await sandbox.list(target), ["alice@example.com"]);

      await alice.post(`/api/v1/requests/${id}/revoke`);
      await waitForState(alice, id, ["ended"]);
      assert.deepEqual(state().admins, {});
      await eventually(
        async () => (state().history.some((h) => h.startsWith("removed")) ? true : undefined),
        "afterDeescalate",
      );
      assert.deepEqual(
        state()
          .history.filter((h) => h.endsWith(id))
          .map((h) => h.split(" ")[0]),
        ["requested(pending)", "approved-by(web-lead@example.com)", "granted", "closing-sessions", "removed"],
      );
    });

    test("onEscalate: a project that does not exist fails the request, and the target is never called", async () => {
      const created = await bob.post("/api/v1/requests", { flow: "sandbox", fields: { project: "legacy" } });
      const id = created.body.id;
      await webLead.post(`/api/v1/requests/${id}/approve`);
      const failed = await waitForState(bob, id, ["failed"]);
      assert.equal(failed.error, 'onEscalate: project "legacy" does not exist (any more)');
      assert.ok(!("legacy:bob@example.com" in state().admins));
    });
  });

  describe("vendor-access.ts", () => {
    const fields = {
      vendor: "Acme Support",
      systems: ["crm", "support"],
      contact: "Carol@Example.com",
      nda_signed: true,
    };

    test("getPermissions: any member may sign off, two must, never the requester; defaults are applied", async () => {
      const created = await alice.post("/api/v1/requests", { flow: "vendor_access", fields });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.deepEqual(created.body.fields, {
        ...fields,
        contact: "carol@example.com",
        days: 30,
        review_every: 604800,
        form_version: 2,
      });
      assert.equal(created.body.duration, 0);
      const id = created.body.id;
      assert.equal((await alice.post(`/api/v1/requests/${id}/approve`)).body.error.code, "SELF_APPROVAL");
      const first = await bob.post(`/api/v1/requests/${id}/approve`);
      assert.equal(first.body.state, "pending", "one of two");
      const second = await carol.post(`/api/v1/requests/${id}/approve`);
      assert.equal(second.body.state, "approved", "approval-only flows stop at approved");
      const revoke = await opsLead.post(`/api/v1/requests/${id}/revoke`);
      assert.equal(revoke.body.error.code, "INVALID_TRANSITION");
    });

    test("onApprove: deny() turns the approval of a blocked vendor into a denial", async () => {
      const created = await alice.post("/api/v1/requests", {
        flow: "vendor_access",
        fields: { ...fields, vendor: "Shady Data Brokers Ltd" },
      });
      const res = await bob.post(`/api/v1/requests/${created.body.id}/approve`);
      assert.equal(res.body.state, "denied");
      assert.deepEqual(
        res.body.decisions.map((d: any) => [d.actor, d.decision, d.reason]),
        [["hook:onApprove", "deny", "Shady Data Brokers Ltd is on the blocked vendor list"]],
      );
    });
  });

  describe("docs/api.md on the example server", () => {
    test("a bot may cancel a request, and a bot token for an admin's address is a bot", async () => {
      const byCi = await ci.post("/api/v1/requests", {
        flow: "deploy",
        requester: "bob@example.com",
        fields: { reason: "release train", ticket: "CHG-11" },
      });
      assert.equal(byCi.body.state, "pending");
      // ops-lead@example.com is in users.admins; a bot token for it still only gets a bot's rights.
      const opsBot = await as(t, "ops-lead@example.com", "bot");
      const approve = await opsBot.post(`/api/v1/requests/${byCi.body.id}/approve`);
      assert.equal(approve.body.error.code, "NOT_AN_APPROVER");
      const cancelled = await opsBot.post(`/api/v1/requests/${byCi.body.id}/cancel`, {
        reason: "train left",
      });
      assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
      assert.equal(cancelled.body.state, "cancelled");
      const other = await alice.post("/api/v1/requests", {
        flow: "deploy",
        fields: { reason: "x", ticket: "CHG-12" },
      });
      // An approver sees the request but may not cancel it; someone with no part in it does not see it.
      const approver = await sreLead.post(`/api/v1/requests/${other.body.id}/cancel`);
      assert.equal(approver.status, 403);
      assert.equal(approver.body.error.code, "CANCEL_NOT_ALLOWED");
      const notHers = await carol.post(`/api/v1/requests/${other.body.id}/cancel`);
      assert.equal(notHers.status, 404);
      assert.equal(notHers.body.error.code, "REQUEST_NOT_FOUND");
      assert.equal((await ci.post(`/api/v1/requests/${other.body.id}/cancel`)).body.state, "cancelled");
    });

    test("a body that is not JSON is 415 UNSUPPORTED_MEDIA_TYPE", async () => {
      const res = await alice.raw("/api/v1/requests", {
        method: "POST",
        headers: { authorization: `Bearer ${alice.token}`, "content-type": "text/plain" },
        body: "flow=deploy",
      });
      assert.equal(res.status, 415);
      assert.equal(res.body.error.code, "UNSUPPORTED_MEDIA_TYPE");
    });
  });
});

describe("what docs/hooks.md says about failing and slow hooks", () => {
  let t: TestServer;
  // Another grant must go through while a call hangs, before that call times out: long enough for a busy
  // machine to do so, short enough to wait for.
  const targetTimeoutMs = 10_000;
  before(async () => {
    t = await startTestServer({
      config: `${importJitflow}
export default defineConfig({
  hooks: { timeoutMs: 200 },
  scheduler: { targetTimeoutMs: ${targetTimeoutMs}, leaseMs: ${2 * targetTimeoutMs} },
  targets: { box: { type: "custom" } },
  flows: [{ name: "box", targets: ["box"], durations: ["1h"], fields: [{ name: "mode", type: "string" }], implementation: "./box.ts" }],
});`,
      files: {
        "box.ts": `import { deny } from "jitflow";
export async function onPrompt(evt) { if (evt.fields.mode === "prompt-throws") throw new Error("directory down"); }
export async function onRequest(evt) {
  if (evt.fields.mode === "throws") throw new Error("ticket system unreachable");
  if (evt.fields.mode === "slow") await new Promise(() => {});
  if (evt.fields.mode === "odd") return "yes";
}
export async function onDeescalate() { return deny({ reason: "keep it" }); }
let failures = 2;
export const hung = new Set();
export async function escalate(evt) {
  if (evt.fields.mode === "hangs" && !hung.has(evt.request.id)) {
    hung.add(evt.request.id);
    return new Promise(() => {});
  }
  if (evt.fields.mode === "normal" && failures-- > 0) throw new Error("target busy");
}
export async function deescalate() {}
export async function afterEscalate(evt) { if (evt.fields.mode === "after-throws") throw new Error("chat is down"); }
export async function afterDeescalate(evt) { if (evt.fields.mode === "after-throws") throw new Error("chat still down"); }
`,
      },
    });
  });
  after(async () => {
    await t?.close();
  });

  test("a throwing, slow or odd onRequest leaves the request pending with error set", async () => {
    const alice = t.as("alice@example.com");
    const cases = {
      throws: "onRequest failed: ticket system unreachable",
      slow: "onRequest failed: onRequest did not finish within 200 ms",
      odd: "onRequest returned something that is not approve(), deny(), ignore() or nothing",
    };
    for (const [mode, error] of Object.entries(cases)) {
      const res = await alice.post("/api/v1/requests", { flow: "box", fields: { mode } });
      assert.equal(res.status, 201);
      assert.equal(res.body.state, "pending");
      assert.equal(res.body.error, error);
    }
  });

  test("a throwing onPrompt is HOOK_FAILED and records nothing", async () => {
    const res = await t
      .as("bob@example.com")
      .post("/api/v1/requests", { flow: "box", fields: { mode: "prompt-throws" } });
    assert.equal(res.status, 422);
    assert.equal(res.body.error.code, "HOOK_FAILED");
    assert.equal(res.body.error.message, "onPrompt failed: directory down");
    assert.equal((await t.as("bob@example.com").get("/api/v1/requests?mine=true")).body.items.length, 0);
  });

  test("a throwing escalate is retried; onDeescalate cannot stop a revocation", async () => {
    const carol = t.as("carol@example.com");
    const created = await carol.post("/api/v1/requests", { flow: "box", fields: { mode: "normal" } });
    const id = created.body.id;
    await t.as("admin@example.com").post(`/api/v1/requests/${id}/approve`);
    const active = await waitForState(carol, id, ["active"]);
    assert.equal(active.attempts, 2, "two failed calls, then success");
    assert.equal(active.lastError, null);
    await carol.post(`/api/v1/requests/${id}/revoke`);
    assert.equal((await waitForState(carol, id, ["ended"])).endedReason, "revoked");
  });

  test("a custom escalate that never returns times out and is retried; other grants go on meanwhile", async () => {
    const admin = t.as("admin@example.com");
    const dave = t.as("dave@example.com");
    const bob = t.as("bob@example.com");
    const stuck = await dave.post("/api/v1/requests", { flow: "box", fields: { mode: "hangs" } });
    const planned = (await admin.post(`/api/v1/requests/${stuck.body.id}/approve`)).body.expiresAt;
    const box = await import(pathToFileURL(join(t.dir, "box.ts")).href);
    await eventually(async () => (box.hung.has(stuck.body.id) ? true : undefined), "the first call");
    const other = await bob.post("/api/v1/requests", { flow: "box", fields: { mode: "quick" } });
    await admin.post(`/api/v1/requests/${other.body.id}/approve`);
    await waitForState(bob, other.body.id, ["active"]);
    const meanwhile = (await dave.get(`/api/v1/requests/${stuck.body.id}`)).body;
    assert.equal(meanwhile.state, "escalating", "still waiting for the hung call");
    assert.equal(meanwhile.attempts, 0);
    const timedOut = await eventually(async () => {
      const row = (await dave.get(`/api/v1/requests/${stuck.body.id}`)).body;
      return row.lastError ? row : undefined;
    }, "the call to time out");
    assert.equal(timedOut.lastError, "escalate() did not finish in time; will retry");
    assert.equal(timedOut.attempts, 1);
    const active = await waitForState(dave, stuck.body.id, ["active"]);
    assert.equal(active.attempts, 1, "attempts keeps the failed calls once the grant is active");
    assert.equal(active.lastError, null);
    assert.ok(
      Date.parse(active.expiresAt) - Date.parse(planned) >= targetTimeoutMs,
      "the expiry was written again before the retried call",
    );
  });

  test("a throwing afterEscalate or afterDeescalate sets error and writes hook.failed, and changes nothing else", async () => {
    const admin = t.as("admin@example.com");
    const alice = t.as("alice@example.com");
    const created = await alice.post("/api/v1/requests", { flow: "box", fields: { mode: "after-throws" } });
    const id = created.body.id;
    await admin.post(`/api/v1/requests/${id}/approve`);
    const granted = await eventually(async () => {
      const row = (await alice.get(`/api/v1/requests/${id}`)).body;
      return row.error ? row : undefined;
    }, "afterEscalate's error");
    assert.equal(granted.state, "active");
    assert.equal(granted.error, "afterEscalate failed: chat is down");
    await alice.post(`/api/v1/requests/${id}/revoke`);
    const ended = await eventually(async () => {
      const row = (await alice.get(`/api/v1/requests/${id}`)).body;
      return row.error === "afterDeescalate failed: chat still down" ? row : undefined;
    }, "afterDeescalate's error");
    assert.equal(ended.state, "ended");
    const audit = await admin.get(`/api/v1/audit?requestId=${id}`);
    assert.deepEqual(
      audit.body.items.filter((e: any) => e.type === "hook.failed").map((e: any) => e.data.error),
      ["afterEscalate failed: chat is down", "afterDeescalate failed: chat still down"],
    );
  });
});

describe("what docs/targets.md says about a webhook target's answers", () => {
  let t: TestServer;
  let receiver: Server;
  let url = "";
  const calls: { at: number; path: string; body: any }[] = [];
  // The first escalate call is answered with a redirect, the second with a 503 asking to wait 2 s.
  const answers = [
    { status: 302, headers: { location: "/elsewhere" } },
    { status: 503, headers: { "retry-after": "2" } },
  ];
  before(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        calls.push({
          at: Date.now(),
          path: req.url ?? "",
          body: JSON.parse(Buffer.concat(chunks).toString()),
        });
        const answer = req.url === "/gate" ? answers.shift() : undefined;
        if (answer) res.writeHead(answer.status, answer.headers).end();
        else res.writeHead(204).end();
      });
    });
    receiver.listen(0, "127.0.0.1");
    await once(receiver, "listening");
    url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/gate`;
    t = await startTestServer({
      config: `${importJitflow}
export default defineConfig({
  scheduler: { retryBaseMs: 10, retryMaxMs: 100 },
  targets: { gate: { type: "webhook", url: process.env.DOCS_GATE_URL, secret: env("DOCS_GATE_SECRET") } },
  flows: [{ name: "gated", targets: ["gate"], durations: ["1h"] }],
});`,
      env: { DOCS_GATE_URL: url, DOCS_GATE_SECRET: "gate-secret" },
    });
  });
  after(async () => {
    await t?.close();
    if (receiver) await close(receiver);
  });

  test("a redirect is a failure and is not followed; Retry-After is honoured; expiresAt is the one enforced", async () => {
    const alice = t.as("alice@example.com");
    const created = await alice.post("/api/v1/requests", { flow: "gated" });
    const id = created.body.id;
    await t.as("admin@example.com").post(`/api/v1/requests/${id}/approve`);
    const waiting = await eventually(async () => {
      const row = (await alice.get(`/api/v1/requests/${id}`)).body;
      return row.attempts === 2 ? row : undefined;
    }, "two failed calls");
    assert.equal(waiting.state, "escalating");
    // Only the scheme and host are shown: some services keep a secret in the path.
    assert.equal(waiting.lastError, `POST ${new URL(url).origin} answered 503`);
    const active = await waitForState(alice, id, ["active"]);
    const gate = calls.filter((c) => c.path === "/gate");
    assert.equal(gate.length, 3);
    assert.ok(!calls.some((c) => c.path === "/elsewhere"), "the redirect was not followed");
    assert.ok((gate[1]?.at ?? 0) - (gate[0]?.at ?? 0) < 1000, "after the 302, the (short) backoff");
    assert.ok((gate[2]?.at ?? 0) - (gate[1]?.at ?? 0) >= 2000, "after the 503, Retry-After: 2");
    assert.equal(gate[2]?.body.expiresAt, active.expiresAt, "the body's expiresAt is the one enforced");
    assert.equal(active.attempts, 2);
  });
});

describe("the README's tour, with the CLI as a process", () => {
  let t: TestServer;
  let database: TestDatabase;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "jitflow-tour-"));
    database = await createSqliteDatabase();
    t = await startTestServer({
      config: read("examples/quickstart/jitflow.config.ts"),
      files: { "flows/demo.ts": read("examples/quickstart/flows/demo.ts") },
      env: { JITFLOW_GRANTS_FILE: join(dir, "grants.json") },
      database,
    });
  });
  after(async () => {
    await t?.close();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("tokens, an auto-approved request, one the admin approves, status, requests, revoke, audit verify", async () => {
    const db = ["--database", database.url];
    const token = async (args: string[]) => {
      const out = await jitflow(["tokens", "create", ...args, ...db]);
      assert.equal(out.code, 0, out.stderr);
      return out.stdout.trim().split("\n").at(-1) as string;
    };
    const alice = { JITFLOW_URL: t.url, JITFLOW_TOKEN: await token(["--user", "alice@example.com"]) };
    const admin = {
      JITFLOW_URL: t.url,
      JITFLOW_TOKEN: await token(["--user", "admin@example.com", "--role", "admin"]),
    };
    assert.match(alice.JITFLOW_TOKEN, /^jft_/);
    const grants = () => JSON.parse(readFileSync(join(dir, "grants.json"), "utf8"));

    const emergency = await jitflow(
      [
        "request",
        "staging_db",
        "--duration",
        "1m",
        "--field",
        "reason=debug a failing migration",
        "--field",
        "urgency=Emergency",
      ],
      alice,
    );
    assert.equal(emergency.code, 0, emergency.stderr);
    assert.match(
      emergency.stdout,
      /approved by +hook:onRequest \(emergency: auto-approved by the quickstart rule\)/,
    );
    await eventually(async () => grants()["staging_db:alice@example.com"], "the grant in grants.json");

    const asked = await jitflow(["request", "admin_console", "--field", "ticket=T-1"], alice);
    assert.match(asked.stdout, /state +pending/);
    const id = /^id +(\S+)$/m.exec(asked.stdout)?.[1] as string;
    const self = await jitflow(["approve", id], alice);
    assert.equal(self.code, 1);
    assert.match(self.stderr, /^error: NOT_AN_APPROVER: /);
    const approved = await jitflow(["approve", id], admin);
    assert.equal(approved.code, 0, approved.stderr);
    await eventually(async () => grants()["admin_console:alice@example.com"], "the admin console grant");

    const list = await jitflow(["requests"], alice);
    assert.match(list.stdout, /^ID +FLOW +TARGET +REQUESTER +STATE +EXPIRES$/m);
    const status = await jitflow(["status", id], alice);
    assert.match(status.stdout, /state +active/);
    assert.equal(
      grants()["admin_console:alice@example.com"].expiresAt,
      /^expires +(\S+)$/m.exec(status.stdout)?.[1],
      "grants.json holds the expiry jitflow enforces",
    );
    await jitflow(["revoke", id], alice);
    await eventually(
      async () => (grants()["admin_console:alice@example.com"] ? undefined : true),
      "revocation",
    );
    assert.match((await jitflow(["status", id], alice)).stdout, /state +ended \(revoked\)/);

    const verify = await jitflow(["audit", "verify", ...db]);
    assert.equal(verify.code, 0);
    assert.match(verify.stdout, /^ok: \d+ event\(s\), chain intact\n$/);
  });
});

/** The fenced block that follows a marker line in a markdown text. */
function codeBlockAfter(markdown: string, marker: string): string {
  const at = markdown.indexOf(marker);
  assert.ok(at >= 0, `missing marker ${marker}`);
  const match = /```\w*\n([\s\S]*?)\n```/.exec(markdown.slice(at + marker.length));
  assert.ok(match, `no code block after ${marker}`);
  return match[1] as string;
}

/** Lines without the indentation they all share. */
function dedent(lines: string[]): string[] {
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => /^ */.exec(l)?.[0].length ?? 0));
  return lines.map((l) => l.slice(indent).trimEnd());
}

describe("the docs cannot fall behind", () => {
  test("each <!-- include FILE --> block is that file, each <!-- excerpt FILE --> block is cut from it", () => {
    let count = 0;
    for (const doc of docFiles) {
      const text = read(doc);
      for (const m of text.matchAll(/<!-- (include|excerpt) (\S+) -->\n```\w*\n([\s\S]*?)\n?```/g)) {
        const [, kind, path, block] = m as unknown as [string, string, string, string];
        const file = read(path);
        count += 1;
        if (kind === "include") {
          assert.equal(
            block,
            file.replace(/\n$/, ""),
            `${doc}: the block included from ${path} differs from it`,
          );
          continue;
        }
        const want = dedent(block.split("\n"));
        const lines = file.split("\n");
        const found = lines.some((_, i) => {
          const slice = lines.slice(i, i + want.length);
          return slice.length === want.length && dedent(slice).join("\n") === want.join("\n");
        });
        assert.ok(found, `${doc}: an excerpt of ${path} is not in it:\n${block}`);
      }
    }
    assert.ok(count >= 10, `only ${count} include/excerpt blocks found`);
  });

  test("every error code is in docs/api.md with its status", () => {
    const api = read("docs/api.md");
    for (const [code, status] of Object.entries(errorCatalogue)) {
      assert.match(
        api,
        new RegExp(`\\| \`${code}\` +\\| ${status} +\\|`),
        `${code} (${status}) is not in docs/api.md's catalogue`,
      );
    }
  });

  test("every config option is in docs/configuration.md", () => {
    const doc = read("docs/configuration.md");
    const missing: string[] = [];
    // Walks the zod schema: every object key, at every depth, must appear as `key` in the doc.
    const walk = (schema: any, path: string) => {
      const def = schema?._zod?.def;
      if (!def) return;
      if (def.type === "object") {
        for (const [key, value] of Object.entries(def.shape)) {
          const at = path ? `${path}.${key}` : key;
          // A secret reference ({ env }) is a value, not an option.
          if (key === "env") continue;
          if (!doc.includes(`\`${key}\``) && !doc.includes(`.${key}\``)) missing.push(at);
          walk(value, at);
        }
      } else if (def.type === "default" || def.type === "optional" || def.type === "nullable")
        walk(def.innerType, path);
      else if (def.type === "array") walk(def.element, `${path}[]`);
      else if (def.type === "pipe") walk(def.in, path);
    };
    walk(configSchema, "");
    for (const key of Object.keys(configSchema.shape))
      assert.match(doc, new RegExp(`^## \`${key}\``, "m"), `top-level option ${key} has no section`);
    assert.deepEqual(missing, [], "options missing from docs/configuration.md");
  });

  test("every export a flow module may have is in docs/hooks.md", () => {
    const types = read("src/model/types.ts");
    const body = /export interface FlowModule<[^{]*\{([\s\S]*?)\n\}/.exec(types)?.[1] ?? "";
    const names = [...body.matchAll(/^ {2}(\w+)\?:/gm)].map((m) => m[1] as string);
    assert.ok(names.length >= 17, `found only ${names.join(", ")}`);
    const hooks = read("docs/hooks.md");
    for (const name of names) assert.ok(hooks.includes(`\`${name}\``), `${name} is not in docs/hooks.md`);
    const fields = /export interface FlowEvent<[^{]*\{([\s\S]*?)\n\}/.exec(types)?.[1] ?? "";
    for (const m of fields.matchAll(/^ {2}(\w+):/gm))
      assert.match(
        hooks,
        new RegExp(`\\| \`${m[1]}\` +\\|`),
        `FlowEvent.${m[1]} is not in the table of docs/hooks.md`,
      );
  });

  test("every command and option of the CLI is in docs/cli.md", () => {
    const program = new Command();
    for (const register of [
      registerServe,
      registerCheck,
      registerMigrate,
      registerTokens,
      registerAudit,
      registerBackup,
      registerClientCommands,
      registerTargetCommands,
    ])
      register(program);
    const cli = read("docs/cli.md");
    const walk = (command: Command, prefix: string) => {
      for (const sub of command.commands) {
        const name = `${prefix}${sub.name()}`;
        if (sub.commands.length) walk(sub, `${name} `);
        else {
          const section = new RegExp(`^### \`jitflow ${name}\`[\\s\\S]*?(?=^#{2,3} |(?![\\s\\S]))`, "m").exec(
            cli,
          )?.[0];
          assert.ok(section, `jitflow ${name} has no section in docs/cli.md`);
          for (const option of sub.options)
            assert.ok(
              section.includes(option.long as string),
              `jitflow ${name} ${option.long} is not documented`,
            );
        }
      }
    };
    walk(program, "");
  });

  test("every route of the OpenAPI document is in docs/api.md, every state and event type, and every metric in docs/operations.md", async () => {
    const t = await startTestServer({ config: `${importJitflow}\nexport default defineConfig({});` });
    try {
      const res = await fetch(`${t.url}/api/v1/openapi.json`);
      const openapi = (await res.json()) as { paths: Record<string, Record<string, unknown>> };
      const api = read("docs/api.md");
      for (const [path, methods] of Object.entries(openapi.paths))
        for (const method of Object.keys(methods))
          assert.ok(
            api.includes(`${method.toUpperCase()} ${path}`),
            `${method.toUpperCase()} ${path} is not in docs/api.md`,
          );
      // GET /metrics and GET /readyz, in the route table but not in the OpenAPI document.
      assert.ok(api.includes("`GET /metrics`"));
      assert.ok(api.includes("`GET /readyz`"));
      const ready = await fetch(`${t.url}/readyz`);
      assert.equal(ready.status, 200);
      assert.ok(api.includes(JSON.stringify(await ready.json())), "the /readyz answer docs/api.md shows");
      const metrics = await fetch(`${t.url}/metrics`, {
        headers: { authorization: `Bearer ${t.token("admin@example.com")}` },
      });
      assert.equal(metrics.status, 200);
      assert.match(await metrics.text(), /^# TYPE jitflow_events_total counter$/m);
    } finally {
      await t.close();
    }
    const api = read("docs/api.md");
    for (const s of states) assert.ok(api.includes(`\`${s}\``), `state ${s}`);
    // Every metric jitflow defines is in docs/operations.md, with its labels.
    const operations = read("docs/operations.md");
    const { registry } = await import("../src/lib/metrics.ts");
    const families = (await registry.getMetricsAsJSON()) as { name: string }[];
    const ours = families.filter((m) => !m.name.startsWith("jitflow_process_"));
    assert.ok(ours.length >= 4, `found only ${ours.map((m) => m.name).join(", ")}`);
    assert.ok(operations.includes("`jitflow_process_*`"));
    for (const m of ours) {
      const labels = (registry.getSingleMetric(m.name) as any)?.labelNames as string[] | undefined;
      const shown = labels?.length ? `\`${m.name}{${labels.join(",")}}\`` : `\`${m.name}\``;
      assert.ok(operations.includes(shown), `${shown} is not in docs/operations.md`);
    }
    const events = new Set(["request.created", "hook.failed"]);
    for (const s of states)
      for (const c of lifecycleCommands) {
        const step = transition(s, c);
        if (step) events.add(step.event);
      }
    for (const e of events) assert.ok(api.includes(`\`${e}\``), `event type ${e} is not in docs/api.md`);
  });
});

test("docs/examples/targets.config.ts loads, and docs/targets.md has a section for every connector", async () => {
  const env = {
    JITFLOW_CREDENTIALS_KEY: randomBytes(32).toString("base64"),
    PROD_DB_ADMIN_URL: "postgres://jitflow:secret@db.example.com:5432/prod",
    ANALYTICS_DB_ADMIN_URL: "postgres://jitflow:secret@analytics.example.com:5432/analytics",
    REPORTING_DB_ADMIN_URL: "mysql://jitflow:secret@reporting.example.com:3306/reporting",
    LDAP_BIND_PASSWORD: "secret",
    OKTA_API_TOKEN: "secret",
    GITHUB_TOKEN: "secret",
  };
  const loaded = await loadConfig(join(root, "docs/examples/targets.config.ts"), env);
  const types = new Set([...loaded.targets.values()].map((t) => t.info.type));
  const doc = read("docs/targets.md");
  for (const type of connectorTypes.keys()) {
    assert.match(doc, new RegExp(`^## \`${type}\`$`, "m"), `docs/targets.md has no section for ${type}`);
    if (type !== "webhook" && type !== "custom")
      assert.ok(types.has(type), `no ${type} target in the example`);
  }
  // Without the key, a createUser target is refused, as docs/configuration.md says.
  await assert.rejects(
    loadConfig(join(root, "docs/examples/targets.config.ts"), { ...env, JITFLOW_CREDENTIALS_KEY: "short" }),
    (err: unknown) =>
      err instanceof ConfigError && err.problems.some((p) => p.path === "credentials.encryptionKey"),
  );
  // The allow-lists docs/targets.md shows: beyond what the connector offers, and the only source of accounts.
  assert.deepEqual(loaded.targets.get("prod_any_role")?.grantable, { role: ["pg_read_all_data"] });
  assert.deepEqual(loaded.targets.get("aws_any_account_readonly")?.bindings, ["accountId"]);
  assert.deepEqual(loaded.targets.get("aws_any_account_readonly")?.grantable, {
    accountId: ["111111111111", "222222222222"],
  });
});

test("docs/examples/policies.config.ts loads, with the steps, timeouts and limits docs/policies.md walks through", async () => {
  const env = {
    SMTP_PASSWORD: "secret",
    OKTA_API_TOKEN: "secret",
    PAGERDUTY_API_KEY: "secret",
    GRANTS_SECRET: "secret",
  };
  const loaded = await loadConfig(join(root, "docs/examples/policies.config.ts"), env);
  assert.deepEqual([...loaded.flows.keys()], ["prod_db", "vendor_signoff", "customer_data", "prod_shell"]);
  const policy = (flow: string) => loaded.flows.get(flow)?.policy ?? [];

  // prod_db: any team lead, then two DBAs for more than 4 hours; both steps post to the flow's channel.
  const [lead, dba] = policy("prod_db");
  assert.deepEqual([lead?.name, lead?.quorum, dba?.name, dba?.quorum], ["team lead", "any", "dba", 2]);
  const request = (hours: number) => ({
    flow: "prod_db",
    target: "prod_db",
    duration: hours * 3600,
    fields: {},
    requester: { email: "alice@example.com", role: "member" },
  });
  assert.deepEqual(await Promise.all([4, 5, 8].map((h) => dba?.when?.(request(h)))), [false, true, true]);
  assert.deepEqual(
    policy("prod_db").map((s) => s.chain.map((d) => d.channel)),
    [["#db-approvals"], ["#db-approvals"]],
  );
  const prodDb = loaded.flows.get("prod_db")?.config;
  assert.deepEqual(
    [prodDb?.maxStartDelay, prodDb?.activationWindow, prodDb?.allowBreakGlass, prodDb?.extensions],
    [14 * 86400, 1800, false, { max: 3, maxTotal: 8 * 3600, approvalAbove: 2 * 3600 }],
  );
  assert.equal(loaded.flows.get("vendor_signoff")?.config.maxStartDelay, 7 * 86400, "the default");

  const [signoff] = policy("vendor_signoff");
  assert.deepEqual([signoff?.quorum, signoff?.timeout, signoff?.onTimeout], ["all", 3 * 86400, "expire"]);

  // customer_data: the dataset's owners and the data stewards, then the Okta group and the admins.
  const [owner, security] = policy("customer_data");
  assert.deepEqual(owner?.sources, {
    users: [],
    admins: false,
    slackChannel: "#data-stewards",
    oktaGroup: undefined,
    pagerduty: undefined,
    getApprovers: true,
  });
  assert.deepEqual(
    [security?.sources.oktaGroup, security?.sources.admins, security?.timeout, security?.onTimeout],
    [{ integration: "okta", group: "00g2securityteam0x1" }, true, 4 * 3600, "remind"],
  );
  const getApprovers = loaded.flows.get("customer_data")?.module?.getApprovers;
  assert.ok(getApprovers);
  const owners = await getApprovers({
    fields: { dataset: "payments" },
    flow: loaded.flows.get("customer_data")?.config,
  } as never);
  assert.deepEqual(owners, ["payments-lead@example.com"]);
  // Security is reminded once, 4 hours into its step, and the request waits for its requestTimeout.
  assert.ok(security);
  const remindAt = stepBegins(security, 0, 86400_000).remindAt;
  assert.equal(remindAt, 4 * 3600_000);
  assert.equal(pendingAction(security, stepBegins(security, 0, 86400_000), 4 * 3600_000).kind, "remind");

  // prod_shell: the timeline of docs/policies.md, minute by minute, when nobody decides.
  const [onCall] = policy("prod_shell");
  assert.ok(onCall);
  assert.equal(loaded.flows.get("prod_shell")?.config.allowBreakGlass, true);
  let clock: PendingClock = stepBegins(onCall, 0, 2 * 3600_000);
  const timeline: string[] = [];
  for (;;) {
    const now = pendingDueAt(onCall, clock);
    const action = pendingAction(onCall, clock, now);
    timeline.push(`+${now / 60_000}m ${action.kind}${action.kind === "forward" ? ` ${action.to}` : ""}`);
    if (action.kind === "expire") {
      assert.equal(action.reason, "destinations_exhausted");
      break;
    }
    clock = afterAction(onCall, clock, action, now);
  }
  assert.deepEqual(timeline, [
    "+4m remind",
    "+12m remind",
    "+15m forward 1",
    "+45m forward 2",
    "+105m expire",
  ]);
  assert.deepEqual(
    onCall.chain.map((d) => [d.channel, d.users]),
    [
      ["#sre-oncall", []],
      ["#sre-leads", ["sre-lead@example.com"]],
      [undefined, ["cto@example.com"]],
    ],
  );

  assert.deepEqual(loaded.config.email, {
    from: "jitflow <jitflow@example.com>",
    smtp: {
      host: "smtp.example.com",
      port: 587,
      secure: false,
      requireTLS: true,
      ignoreTLS: false,
      rejectUnauthorized: true,
      user: "jitflow@example.com",
      password: { env: "SMTP_PASSWORD" },
    },
    webUrl: "https://jitflow.example.com",
  });

  // The refusals docs/policies.md quotes.
  const doc = read("docs/policies.md");
  /** The one problem of a config whose flow number `at` is `flow`, as `jitflow check` words it. */
  const refusal = (at: number, flow: Record<string, unknown>) => {
    const flows = [...Array.from({ length: at }, (_, i) => ({ name: `f${i}` })), flow];
    const parsed = configSchema.safeParse({ flows });
    assert.ok(!parsed.success);
    assert.equal(parsed.error.issues.length, 1);
    const [issue] = parsed.error.issues;
    const path = issue?.path.map((k) => (typeof k === "number" ? `[${k}]` : `.${String(k)}`)).join("");
    return `${path?.slice(1)}: ${issue?.message}`;
  };
  const quoted = [
    refusal(3, {
      name: "prod_shell",
      approvers: { steps: [{ users: ["a@example.com"], timeout: "15m", onTimeout: "escalate" }] },
    }),
    refusal(0, {
      name: "prod_db",
      approvers: { users: ["a@example.com"], steps: [{ users: ["b@example.com"] }] },
    }),
  ];
  for (const q of quoted) assert.ok(doc.includes(`\`${q}\``), `docs/policies.md quotes ${q}`);
});

test("the signed call shown in docs/targets.md verifies with the docs' receiver code", () => {
  const block = codeBlockAfter(read("docs/targets.md"), "<!-- signed with: gate-secret -->");
  const timestamp = /^X-Jitflow-Timestamp: (\d+)$/m.exec(block)?.[1];
  const signature = /^X-Jitflow-Signature: (\S+)$/m.exec(block)?.[1];
  const body = block.split("\n\n")[1] as string;
  assert.equal(signature, signBody("gate-secret", Number(timestamp), body), "what jitflow itself would send");
  assert.ok(verifyJitflowSignature("gate-secret", timestamp, signature, body, Number(timestamp)));
  assert.ok(!verifyJitflowSignature("other-secret", timestamp, signature, body, Number(timestamp)));
  assert.ok(
    !verifyJitflowSignature("gate-secret", timestamp, signature, body, Number(timestamp) + 301),
    "too old",
  );
  assert.ok(
    !verifyJitflowSignature("gate-secret", timestamp, signature, `${body} `, Number(timestamp)),
    "body changed",
  );
});

/** A Slack message as docs/slack.md shows it: a line per block, buttons in brackets, dates as their UTC fallback. */
function shownInSlack(blocks: any[]): string {
  const text = (s: string) => s.replace(/<!date\^\d+\^[^|>]*\|([^>]*)>/g, "$1");
  return blocks
    .map((b) => {
      if (b.type === "header") return b.text.text;
      if (b.type === "section" && b.text) return text(b.text.text);
      if (b.type === "section") return b.fields.map((f: any) => text(f.text).replace("\n", " ")).join(" · ");
      if (b.type === "actions") return b.elements.map((e: any) => `[${e.text.text}]`).join(" ");
      if (b.type === "context") return b.elements.map((e: any) => text(e.text)).join(" ");
      throw new Error(`docs/slack.md has no way to show a ${b.type} block`);
    })
    .join("\n");
}

/** The fenced block (``` or ````, for text that holds ```) that follows a marker line. */
function fencedAfter(markdown: string, marker: string): string {
  const at = markdown.indexOf(marker);
  assert.ok(at >= 0, `missing marker ${marker}`);
  const match = /(`{3,})\w*\n([\s\S]*?)\n\1(?!`)/.exec(markdown.slice(at + marker.length));
  assert.ok(match, `no code block after ${marker}`);
  return match[2] as string;
}

describe("the Slack app: slack-app-manifest.yaml and docs/slack.md", () => {
  type Manifest = AppsManifestCreateArguments["manifest"];
  type BotScope = NonNullable<NonNullable<NonNullable<Manifest["oauth_config"]>["scopes"]>["bot"]>[number];
  const manifest = parseYaml(read("slack-app-manifest.yaml")) as Manifest;
  const slackDoc = read("docs/slack.md");
  const slackSources = (readdirSync(join(root, "src/channels/slack"), { recursive: true }) as string[])
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))
    .map((f) => ({ file: `src/channels/slack/${f}`, text: read(`src/channels/slack/${f}`) }))
    // Approval steps and hook helpers read channel members through the same bot token.
    .concat([{ file: "src/directory/slack-lookups.ts", text: read("src/directory/slack-lookups.ts") }]);

  /**
   * The bot scopes each Web API method jitflow calls needs ("Required scopes" on Slack's page of the
   * method). A method the code calls that is not here fails the test: look its scopes up and add it.
   */
  const scopesOfMethod: Record<string, BotScope[]> = {
    "chat.postMessage": ["chat:write"],
    "chat.postEphemeral": ["chat:write"],
    "chat.update": ["chat:write"],
    // Direct messages (im) and group messages to approvers (mpim): the scope follows the conversation's kind.
    "conversations.open": ["im:write", "mpim:write"],
    // Without users:read.email, users.info leaves the profile's email out, and nobody can be told apart.
    "users.info": ["users:read", "users:read.email"],
    "users.lookupByEmail": ["users:read.email"],
    "views.open": [],
    "views.update": [],
    "views.publish": [],
    // Which workspace the app is in, so people of other workspaces are known as guests.
    "auth.test": [],
    // A channel's members, for approval steps with slackChannel and slack.usersInChannel.
    "conversations.list": ["channels:read", "groups:read"],
    "conversations.members": ["channels:read", "groups:read"],
  };

  /** `client.chat.postMessage(`, `c.views.open(` …, and the names given to `api.call("…")`, by method. */
  function methodsCalled(): Map<string, string[]> {
    const called = new Map<string, string[]>();
    const add = (method: string, file: string) => called.set(method, [...(called.get(method) ?? []), file]);
    for (const { file, text } of slackSources) {
      for (const m of text.matchAll(/\b(?:client|c)\.([a-z]+)\.([a-zA-Z]+)\(/g)) {
        // `c.req.header(…)`: Hono's request in the receiver, not the Web API.
        if (m[1] === "req") continue;
        add(`${m[1]}.${m[2]}`, file);
      }
      for (const m of text.matchAll(/\bapi\.call\(\s*"([a-z]+\.[a-zA-Z]+)"/g)) add(m[1] as string, file);
      for (const m of text.matchAll(/\bclient\.paginate\(\s*"([a-z]+\.[a-zA-Z]+)"/g))
        add(m[1] as string, file);
    }
    return called;
  }

  test("the bot scopes are exactly those of the Web API methods the code calls, plus commands", () => {
    const called = methodsCalled();
    assert.ok(called.size >= 8, `found only ${[...called.keys()].join(", ")}`);
    for (const [method, files] of called)
      assert.ok(method in scopesOfMethod, `${files[0]} calls ${method}: add its scopes to scopesOfMethod`);
    for (const method of Object.keys(scopesOfMethod))
      assert.ok(called.has(method), `${method} is no longer called: remove it from scopesOfMethod`);
    const needed = new Set([...called.keys()].flatMap((m) => scopesOfMethod[m] ?? []));
    // The slash command is a scope of its own.
    assert.ok(slackSources.some((s) => s.text.includes("app.command(")));
    needed.add("commands");
    assert.deepEqual([...(manifest.oauth_config?.scopes?.bot ?? [])].sort(), [...needed].sort());
    assert.equal(manifest.oauth_config?.scopes?.user, undefined, "no user scopes: jitflow acts as its bot");
  });

  test("every URL is /slack/events, the command is the config's default, the events are the ones listened to", () => {
    const urls: [string, string][] = [];
    const walk = (value: unknown, path: string) => {
      if (typeof value === "string" && /^\w+:\/\//.test(value)) urls.push([path, value]);
      else if (value && typeof value === "object")
        for (const [k, v] of Object.entries(value)) walk(v, path ? `${path}.${k}` : k);
    };
    walk(manifest, "");
    assert.deepEqual(urls.map(([path]) => path).sort(), [
      "features.slash_commands.0.url",
      "settings.event_subscriptions.request_url",
      "settings.interactivity.message_menu_options_url",
      "settings.interactivity.request_url",
    ]);
    for (const [path, url] of urls) {
      assert.equal(new URL(url).protocol, "https:", path);
      assert.equal(new URL(url).pathname, "/slack/events", path);
    }
    // All four point at the same server, so replacing the host once in the docs' steps is enough.
    assert.equal(new Set(urls.map(([, url]) => url)).size, 1);

    const command = configSchema.parse({ slack: {} }).slack?.command;
    assert.equal(command, "/jitflow");
    assert.deepEqual(
      manifest.features?.slash_commands?.map((c) => c.command),
      [command],
    );

    const listened = slackSources.flatMap(({ text }) =>
      [...text.matchAll(/\bapp\.event\(\s*"([a-z_]+)"/g)].map((m) => m[1] as string),
    );
    assert.deepEqual(listened, ["app_home_opened"]);
    assert.deepEqual(manifest.settings?.event_subscriptions?.bot_events, listened);
    assert.equal(
      manifest.features?.app_home?.home_tab_enabled,
      true,
      "the App Home is published with views.publish",
    );
    assert.equal(manifest.features?.app_home?.messages_tab_enabled, true, "direct messages arrive there");
    assert.equal(manifest.settings?.interactivity?.is_enabled, true);
    assert.equal(manifest.settings?.socket_mode_enabled, false, "Slack calls POST /slack/events");
    assert.equal(manifest.settings?.token_rotation_enabled, false, "one long-lived bot token");
    assert.equal(manifest._metadata?.major_version, 1);
  });

  test("docs/slack.md explains every scope of the manifest in its table", () => {
    const scopes = manifest.oauth_config?.scopes?.bot ?? [];
    assert.ok(scopes.length >= 5);
    for (const scope of scopes)
      assert.match(slackDoc, new RegExp(`^\\| \`${scope.replace(".", "\\.")}\` +\\|`, "m"), scope);
  });

  test("the Slack examples of docs/configuration.md and docs/slack.md load as they say", async () => {
    const doc = read("docs/configuration.md");
    const slack = codeBlockAfter(doc, "<!-- slack example -->");
    const approvers = codeBlockAfter(doc, "<!-- approvers in Slack example -->");
    const setup = fencedAfter(slackDoc, "<!-- slack config example -->");
    const config = (body: string) => `${importJitflow}\nexport default defineConfig({\n${body}\n});\n`;
    const dir = writeTree({
      "slack.config.ts": config(`${slack}\nflows: [{ name: "prod_db", ${approvers} }],`),
      "off.config.ts": config(`flows: [{ name: "x" }],`),
      "channel.config.ts": config(`flows: [{ name: "x", approvers: { channel: "#DB-Approvals" } }],`),
      "setup.config.ts": setup.replace(/^export default/m, `${importJitflow}\nexport default`),
    });
    const keys = { SLACK_BOT_TOKEN: "xoxb-test", SLACK_SIGNING_SECRET: "signing-secret" };
    const problems = (file: string, env: Record<string, string>) =>
      loadConfig(join(dir, file), env).then(
        () => [],
        (err: unknown) => {
          assert.ok(err instanceof ConfigError, String(err));
          return err.problems.map((p) => `${p.path}: ${p.message}`);
        },
      );
    try {
      const on = await loadConfig(join(dir, "slack.config.ts"), keys);
      assert.deepEqual(on.slack, {
        botToken: { env: "SLACK_BOT_TOKEN" },
        signingSecret: { env: "SLACK_SIGNING_SECRET" },
        apiUrl: "https://slack.com/api/",
        command: "/jitflow",
        errorChannel: "#jitflow-errors",
        expiryWarning: 600,
      });
      const prodDb = on.flows.get("prod_db")?.config.approvers;
      assert.equal(prodDb?.channel, "#db-approvals");
      assert.equal(prodDb?.decisionNote, true);
      // Secrets the config names must be set, as the page quotes.
      const missing = await problems("slack.config.ts", {});
      assert.deepEqual(missing, [
        "slack.botToken: environment variable SLACK_BOT_TOKEN is not set",
        "slack.signingSecret: environment variable SLACK_SIGNING_SECRET is not set",
      ]);
      assert.ok(doc.includes(`\`${missing[0]}\``), `docs/configuration.md quotes ${missing[0]}`);
      // Without slack in the config, the SLACK_* variables alone turn Slack on, with the defaults.
      assert.equal((await loadConfig(join(dir, "off.config.ts"), {})).slack, undefined);
      assert.equal((await loadConfig(join(dir, "off.config.ts"), { SLACK_BOT_TOKEN: "x" })).slack, undefined);
      const byEnv = await loadConfig(join(dir, "off.config.ts"), {
        ...keys,
        SLACK_API_URL: "http://127.0.0.1:9/api",
      });
      assert.deepEqual(
        [byEnv.slack?.command, byEnv.slack?.errorChannel, byEnv.slack?.expiryWarning, byEnv.slack?.apiUrl],
        ["/jitflow", undefined, 600, "http://127.0.0.1:9/api/"],
      );
      const channel = await problems("channel.config.ts", {});
      assert.equal(channel.length, 1);
      assert.ok(doc.includes(`\`${channel[0]}\``), `docs/configuration.md quotes ${channel[0]}`);

      const fromSetup = await loadConfig(join(dir, "setup.config.ts"), { ...keys, GRANTS_SECRET: "g" });
      assert.equal(fromSetup.slack?.errorChannel, "#jitflow-errors");
      assert.equal(fromSetup.slack?.expiryWarning, 600);
      const flow = fromSetup.flows.get("prod_db")?.config;
      assert.deepEqual(flow?.approvers, {
        users: ["dba@example.com"],
        channel: "#db-approvals",
        minApprovals: 1,
        allowSelfApproval: false,
        decisionNote: true,
        // The single-step form's backup destinations: none unless the flow lists them.
        destinations: [],
      });
      assert.equal(flow?.additionalHeaderText, "Access to production is logged and reviewed weekly.");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe("what docs/slack.md shows is what jitflow renders", () => {
    const at = Date.parse("2026-11-24T06:35:58.784Z");
    const iso = (ms: number) => new Date(ms).toISOString();
    const pending: RequestView = {
      ...plainPolicyView,
      id: "0196b0c2-7d3e-7a41-9c1e-3f5b2a8d4e60",
      flow: "deploy",
      target: "deploy_gate",
      requester: { email: "alice@example.com", name: "Alice Adams" },
      state: "pending",
      duration: 3600,
      fields: { reason: "fix checkout", urgency: "Normal", ticket: "CHG-42" },
      context: {},
      source: "slack",
      createdAt: iso(at),
      updatedAt: iso(at),
      decidedAt: null,
      activatedAt: null,
      expiresAt: null,
      endedAt: null,
      endedReason: null,
      error: null,
      attempts: 0,
      lastError: null,
      decisions: [],
    };
    const approval = {
      actor: "sre-lead@example.com",
      decision: "approve" as const,
      reason: "CHG-42 is scheduled",
      at: iso(at + 120_000),
      step: 0,
    };
    const approved = { decidedAt: approval.at, decisions: [approval] };
    const active: RequestView = {
      ...pending,
      ...approved,
      state: "active",
      activatedAt: iso(at + 121_000),
      expiresAt: iso(at + 121_000 + 3600_000),
    };
    const failed: RequestView = {
      ...pending,
      ...approved,
      state: "failed",
      error: "onEscalate: the change freeze is on",
    };
    const labels = { flow: "Production deploy", target: "Production deploy gate" };
    const options = {
      minApprovals: 1,
      allowRevoke: true,
      hidden: new Set<string>(),
      fieldLabels: new Map([
        ["reason", "Why?"],
        ["urgency", "Urgency"],
        ["ticket", "Change ticket"],
      ]),
    };
    const event = (type: string, actor: string, data: Record<string, unknown> = {}) => ({
      id: "0196b0c2-7d3f-7000-8000-000000000000",
      type,
      actor,
      at,
      data,
    });
    const shown = (marker: string) => fencedAfter(slackDoc, `<!-- slack: ${marker} -->`);
    // A request of a flow with two approval steps, at the second after sre-lead approved the first.
    const stepNames = { names: ["team lead", "change manager"], indices: [0, 1] };
    const atSecondStep: RequestView = { ...pending, steps: [0, 1], step: 1, decisions: [approval] };

    test("the approval message, before and after the decision", () => {
      assert.equal(
        shown("approval message, pending"),
        shownInSlack(approvalMessage(pending, labels, options).blocks),
      );
      assert.equal(
        shown("approval message, active"),
        shownInSlack(approvalMessage(active, labels, options).blocks),
      );
    });

    test("the line that says where a request stands", () => {
      const views: [RequestView, number, string[]?][] = [
        [pending, 1],
        [{ ...pending, decisions: [{ ...approval, reason: null }] }, 2],
        [atSecondStep, 1, stepNames.names],
        [{ ...pending, ...approved, state: "escalating" }, 1],
        [active, 1],
        [{ ...active, state: "deescalating" }, 1],
        [{ ...active, state: "ended", endedReason: "scheduled", endedAt: active.expiresAt }, 1],
        [{ ...active, state: "ended", endedReason: "revoked", endedAt: iso(at + 900_000) }, 1],
        [
          {
            ...pending,
            state: "denied",
            decidedAt: approval.at,
            decisions: [{ ...approval, decision: "deny", reason: "freeze until Monday" }],
          },
          1,
        ],
        [
          {
            ...pending,
            state: "denied",
            decidedAt: iso(at),
            decisions: [
              {
                actor: "hook:onRequest",
                decision: "deny",
                reason: "CI jobs get at most 1h",
                at: iso(at),
                step: 0,
              },
            ],
          },
          1,
        ],
        [{ ...pending, state: "expired" }, 1],
        [{ ...pending, ...approved, state: "expired" }, 1],
        [{ ...pending, state: "cancelled" }, 1],
        [failed, 1],
      ];
      const lines = views.map(([view, needed, names]) =>
        shownInSlack([section(stateLine(view, needed, names))]),
      );
      assert.equal(shown("state lines"), lines.join("\n"));
      // Every state a request can be in has its line on the page.
      const covered = new Set(views.map(([view]) => view.state));
      for (const s of states) if (s !== "approved") assert.ok(covered.has(s), s);
    });

    test("the replies in the thread of the approval messages, one per event slack-messages.ts tells there", () => {
      const cases: [ReturnType<typeof event>, RequestView][] = [
        [event("request.step_started", "sre-lead@example.com", { reason: approval.reason }), atSecondStep],
        [event("request.reminded", "jitflow", { step: "team lead", reminder: 1 }), pending],
        [
          event("request.approved", "sre-lead@example.com", { reason: approval.reason }),
          { ...active, state: "escalating" },
        ],
        [
          event("request.denied", "sre-lead@example.com", { reason: "freeze until Monday" }),
          { ...pending, state: "denied" },
        ],
        [event("request.expired", "jitflow"), { ...pending, state: "expired" }],
        [event("request.cancelled", "alice@example.com"), { ...pending, state: "cancelled" }],
        [event("request.activation_expired", "jitflow"), { ...pending, ...approved, state: "expired" }],
      ];
      assert.deepEqual(
        cases.map(([e]) => e.type),
        [...toldInThread],
        "the page shows one reply for each event in toldInThread, in its order",
      );
      const lines = cases.map(([e, view]) => {
        const reply = threadNotice(e, view, labels, stepNames);
        assert.ok(reply, e.type);
        return shownInSlack(reply.blocks as any[]);
      });
      assert.equal(shown("thread replies"), lines.join("\n"));
    });

    test("the direct messages to the requester, one per event slack-messages.ts tells them about", () => {
      const extended = { ...active, expiresAt: iso(Date.parse(active.expiresAt as string) + 1800_000) };
      const cases: [ReturnType<typeof event>, RequestView][] = [
        [event("request.created", "alice@example.com"), pending],
        [event("request.step_started", "sre-lead@example.com", { reason: approval.reason }), atSecondStep],
        [event("request.activation_expired", "jitflow"), { ...pending, ...approved, state: "expired" }],
        [
          event("request.approved", "sre-lead@example.com", { reason: approval.reason }),
          { ...active, state: "escalating" },
        ],
        [
          event("request.denied", "sre-lead@example.com", { reason: "freeze until Monday" }),
          { ...pending, state: "denied" },
        ],
        [event("request.expired", "jitflow"), { ...pending, state: "expired" }],
        [event("grant.active", "jitflow", { expiresAt: active.expiresAt }), active],
        [event("grant.extended", "alice@example.com", { by: 1800 }), extended],
        [
          event("grant.ended", "jitflow"),
          { ...active, state: "ended", endedReason: "revoked", endedAt: iso(at + 900_000) },
        ],
        [event("request.failed", "jitflow", { error: failed.error }), failed],
        [event("grant.missing", "jitflow", { target: "deploy_gate", identity: "alice" }), active],
      ];
      assert.deepEqual(
        cases.map(([e]) => e.type),
        [...toldToRequester],
        "the page shows one message for each event in toldToRequester, in its order",
      );
      const lines = cases.map(([e, view]) => {
        const notice = requesterNotice(e, view, labels, 4 * 3600, stepNames);
        assert.ok(notice, e.type);
        const [first, ...rest] = notice.blocks as any[];
        assert.equal(shownInSlack(rest), `Request \`${view.id}\``, "each ends with the request's id");
        return shownInSlack([first]);
      });
      assert.equal(shown("direct messages"), lines.join("\n"));
      for (const e of toldToRequester) assert.match(slackDoc, new RegExp(`^\\| \`${e}\` +\\|`, "m"), e);
    });

    test("the expiry warning and an error-channel post", () => {
      const warning = expiringNotice(
        active,
        labels,
        Date.parse(active.expiresAt as string) - 600_000,
        "/jitflow",
      );
      assert.equal(shown("expiry warning"), shownInSlack(warning.blocks));
      const retrying = event("grant.retrying", "jitflow", {
        action: "escalate",
        attempts: 3,
        error: "POST https://deploy-gate.example.com answered 503",
      });
      const post = errorNotice(retrying, { ...active, state: "escalating" }, labels);
      assert.equal(shown("error channel"), shownInSlack(post.blocks));
      const unresolved = event("approvers.unresolved", "jitflow", {
        step: "on-call",
        error: "pagerduty:Production on-call failed: PagerDuty answered 401: the API token was refused",
      });
      assert.equal(
        shown("approvers unresolved"),
        shownInSlack(errorNotice(unresolved, pending, labels).blocks),
      );
      const reason = "checkout is down, INC-7";
      const breakGlass = event("request.break_glass", "alice@example.com", { reason });
      const broken: RequestView = {
        ...active,
        breakGlass: reason,
        decisions: [{ ...approval, actor: "alice@example.com", reason }],
      };
      assert.equal(shown("break-glass"), shownInSlack(errorNotice(breakGlass, broken, labels).blocks));
      const part = slackDoc.slice(
        slackDoc.indexOf("### The error channel"),
        slackDoc.indexOf("## How it behaves"),
      );
      for (const e of toldToErrorChannel) assert.ok(part.includes(`\`${e}\``), `${e} in "The error channel"`);
    });
  });
});
