// Who may see a request, through the running server: acting on one you may not see answers exactly like
// acting on one that does not exist, and FLOW_NOT_FOUND names only the flows the caller may request.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import {
  type Client,
  importJitflow,
  type Response,
  startTestServer,
  type TestServer,
  waitForState,
} from "./support/harness.ts";

const config = `${importJitflow}
export default defineConfig({
  users: { admins: ["admin@example.com"], memberDomains: ["example.com"] },
  targets: { sandbox: { type: "custom", label: "Sandbox" } },
  flows: [
    {
      name: "deploy",
      targets: ["sandbox"],
      durations: ["1h", "4h"],
      fields: [{ name: "reason", type: "text", required: false }],
      approvers: { users: ["bob@example.com"] },
      implementation: "./flows/sandbox.ts",
    },
    {
      name: "locked",
      targets: ["sandbox"],
      durations: ["1h"],
      allowRevoke: false,
      approvers: { users: ["bob@example.com"] },
      implementation: "./flows/sandbox.ts",
    },
    { name: "webonly", targets: ["sandbox"], durations: ["1h"], allowedSources: ["web"], implementation: "./flows/sandbox.ts" },
  ],
});
`;
const files = {
  "flows/sandbox.ts": "export async function escalate() {}\nexport async function deescalate() {}\n",
};

/** One call, made for a real id and for a made-up one: method, path and body, from the id. */
interface Probe {
  name: string;
  call: (c: Client, id: string) => Promise<Response>;
}

/** The answer with the id replaced, so answers for two ids can be compared whole. */
const shape = (res: Response, id: string) => ({
  status: res.status,
  body: JSON.parse(JSON.stringify(res.body).replaceAll(id, "<id>")),
});

describe("requests one may not see", () => {
  let t: TestServer;
  const ids: Record<"pending" | "active" | "ended" | "locked" | "bobs", string> = {
    pending: "",
    active: "",
    ended: "",
    locked: "",
    bobs: "",
  };
  let eventId = "";
  const alice = () => t.as("alice@example.com");
  const bob = () => t.as("bob@example.com");

  before(async () => {
    t = await startTestServer({ config, files });
    const ask = async (flow: string) => {
      const res = await alice().post("/api/v1/requests", { flow });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body.id as string;
    };
    const granted = async (flow: string) => {
      const id = await ask(flow);
      assert.equal((await bob().post(`/api/v1/requests/${id}/approve`)).status, 200);
      await waitForState(alice(), id, ["active"]);
      return id;
    };
    ids.pending = await ask("deploy");
    ids.bobs = (await bob().post("/api/v1/requests", { flow: "deploy" })).body.id;
    ids.active = await granted("deploy");
    ids.locked = await granted("locked");
    ids.ended = await granted("deploy");
    await alice().post(`/api/v1/requests/${ids.ended}/revoke`);
    await waitForState(alice(), ids.ended, ["ended"]);
    const run = await t.as("bot@example.com").post("/api/v1/events/request", {
      flow_srn: "deploy",
      user_email: "alice@example.com",
    });
    assert.equal(run.status, 200, JSON.stringify(run.body));
    eventId = run.body.event_id;
  });
  after(() => t?.close());

  const post = (action: string, body?: unknown) => (c: Client, id: string) =>
    c.post(`/api/v1/requests/${id}/${action}`, body);
  const get = (suffix: string) => (c: Client, id: string) => c.get(`/api/v1/requests/${id}${suffix}`);

  /** Every action and read of one request, with the request it is tried on. */
  const probes = (): [Probe, string][] => [
    [{ name: "GET request", call: get("") }, ids.pending],
    [{ name: "GET events", call: get("/events") }, ids.pending],
    [{ name: "GET credentials", call: get("/credentials") }, ids.active],
    [{ name: "approve pending", call: post("approve") }, ids.pending],
    [{ name: "approve ended", call: post("approve", { reason: "x" }) }, ids.ended],
    [{ name: "deny pending", call: post("deny") }, ids.pending],
    [{ name: "deny ended", call: post("deny") }, ids.ended],
    [{ name: "revoke active", call: post("revoke") }, ids.active],
    [{ name: "revoke, flow without allowRevoke", call: post("revoke") }, ids.locked],
    [{ name: "revoke ended", call: post("revoke") }, ids.ended],
    [{ name: "cancel pending", call: post("cancel") }, ids.pending],
    [{ name: "cancel active", call: post("cancel") }, ids.active],
    [{ name: "extend active", call: post("extend", { duration: "30m" }) }, ids.active],
    [{ name: "extend pending", call: post("extend", { duration: "30m" }) }, ids.pending],
    [{ name: "review", call: post("review") }, ids.pending],
    [{ name: "Sym GET run", call: (c, id) => c.get(`/api/v1/runs/${id}`) }, ids.active],
    [
      {
        name: "Sym deescalate",
        call: (c, id) => c.post("/api/v1/events/deescalate", { run_id: id }),
      },
      ids.active,
    ],
    [{ name: "Sym GET event", call: (c, id) => c.get(`/api/v1/events/${id}`) }, eventId],
  ];

  for (const outsider of ["carol@example.com", "eve@outside.org"]) {
    test(`${outsider}: every action on a request they may not see answers like a missing id`, async () => {
      const c = t.as(outsider);
      const leaks: string[] = [];
      for (const [probe, id] of probes()) {
        const madeUp = randomUUID();
        const hidden = shape(await probe.call(c, id), id);
        const missing = shape(await probe.call(c, madeUp), madeUp);
        assert.ok(missing.status === 404 || missing.status === 403, `${probe.name}: ${missing.status}`);
        if (JSON.stringify(hidden) !== JSON.stringify(missing))
          leaks.push(`${probe.name}: ${JSON.stringify(hidden)} instead of ${JSON.stringify(missing)}`);
      }
      assert.deepEqual(leaks, [], "answers that differ from a missing id's");
      // Nothing changed, and the answers above were refusals, not no-ops that happened to match.
      assert.equal((await alice().get(`/api/v1/requests/${ids.pending}`)).body.state, "pending");
      const active = (await alice().get(`/api/v1/requests/${ids.active}`)).body;
      assert.equal(active.state, "active");
      assert.equal(active.extensions, 0);
      assert.equal((await alice().get(`/api/v1/requests/${ids.locked}`)).body.state, "active");
    });
  }

  test("the answers for a request one may not see are 404 REQUEST_NOT_FOUND, naming only the id", async () => {
    const carol = t.as("carol@example.com");
    for (const [path, body] of [
      [`/api/v1/requests/${ids.ended}/approve`, {}],
      [`/api/v1/requests/${ids.locked}/revoke`, {}],
      [`/api/v1/requests/${ids.pending}/cancel`, {}],
      [`/api/v1/requests/${ids.active}/extend`, { duration: "30m" }],
      ["/api/v1/events/deescalate", { run_id: ids.locked }],
    ] as const) {
      const res = await carol.post(path, body);
      assert.equal(res.status, 404, path);
      assert.equal(res.body.error.code, "REQUEST_NOT_FOUND", path);
      assert.match(res.body.error.message, /^there is no request [0-9a-f-]{36}$/, path);
      assert.equal(res.body.error.details, undefined, path);
    }
    const event = await carol.get(`/api/v1/events/${eventId}`);
    assert.equal(event.status, 404);
    assert.deepEqual(event.body.error, { code: "EVENT_NOT_FOUND", message: `there is no event ${eventId}` });
  });

  test("who may see a request but not act keeps the specific refusal", async () => {
    const cases: [string, Client, string, unknown, number, string][] = [
      ["an approver approving their own request", bob(), `${ids.bobs}/approve`, {}, 403, "SELF_APPROVAL"],
      [
        "the requester, not an approver, approving",
        alice(),
        `${ids.pending}/approve`,
        {},
        403,
        "NOT_AN_APPROVER",
      ],
      ["an approver, an ended request", bob(), `${ids.ended}/approve`, {}, 409, "INVALID_TRANSITION"],
      ["an approver cancelling", bob(), `${ids.pending}/cancel`, {}, 403, "CANCEL_NOT_ALLOWED"],
      [
        "an approver extending",
        bob(),
        `${ids.active}/extend`,
        { duration: "30m" },
        403,
        "EXTEND_NOT_ALLOWED",
      ],
      ["the requester, allowRevoke: false", alice(), `${ids.locked}/revoke`, {}, 403, "REVOKE_NOT_ALLOWED"],
      ["a bot approving", t.as("bot@example.com"), `${ids.pending}/approve`, {}, 403, "NOT_AN_APPROVER"],
    ];
    for (const [name, c, path, body, status, code] of cases) {
      const res = await c.post(`/api/v1/requests/${path}`, body);
      assert.equal(res.status, status, `${name}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, code, name);
    }
    const ended = await bob().post(`/api/v1/requests/${ids.ended}/approve`);
    assert.deepEqual(ended.body.error.details, { state: "ended" }, "the approver is told the state");
  });

  test("FLOW_NOT_FOUND lists only the flows the caller may request", async () => {
    const requestable = (await alice().get("/api/v1/flows")).body.items.map((f: { name: string }) => f.name);
    assert.deepEqual(requestable, ["deploy", "locked"], "webonly is not requestable from the API");
    const answers = [
      await alice().post("/api/v1/requests", { flow: "nope" }),
      await alice().post("/api/v1/events/request", { flow_srn: "acme:flow:nope:latest" }),
      await alice().get("/api/v1/flows/nope/fields/reason/options"),
    ];
    for (const res of answers) {
      assert.equal(res.status, 404);
      assert.equal(res.body.error.code, "FLOW_NOT_FOUND");
      assert.deepEqual(res.body.error.details, { flows: requestable });
    }
    const guest = await t.as("eve@outside.org").post("/api/v1/requests", { flow: "nope" });
    assert.equal(guest.body.error.code, "FLOW_NOT_FOUND");
    assert.deepEqual(guest.body.error.details, { flows: [] }, "a guest may request no flow");
  });
});
