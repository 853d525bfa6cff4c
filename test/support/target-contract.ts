// The contract every connector keeps, as one suite run against each real server or fake:
// escalate, escalate again, list, deescalate, deescalate again, target unavailable then back.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { FlowEvent } from "../../src/model/types.ts";
import { PermanentTargetError, type TargetCall, type TargetConnector } from "../../src/targets/target.ts";

export interface ContractPerson {
  email: string;
  /** What the engine passes on escalate (the connector's identityFor(email), or a mapping). */
  identity: string;
  /** The canonical form escalate returns and list() reports. */
  canonical: string;
}

export interface ContractSubject<S> {
  connector: TargetConnector<S>;
  /** Effective settings of a target that exists. */
  settings: S;
  /** Two or more people who exist in the target and hold nothing at the start. */
  people: ContractPerson[];
  /** The target's own view of who holds it, read directly (not through the connector), canonical. */
  holders(): Promise<string[]>;
  /** Makes the target unreachable (stop the server, close the port); `restore` brings it back. */
  makeUnavailable(): Promise<void>;
  restore(): Promise<void>;
  /** Settings naming something that does not exist (an unknown group): escalate must fail for good. */
  unknownSettings: S;
  /** Tears down what the subject created. */
  close(): Promise<void>;
}

export function fakeEvent(email: string, targetName = "contract"): FlowEvent {
  const person = { email, name: email.split("@")[0] ?? email, role: "member" as const };
  return {
    name: "escalate",
    requester: { ...person, countEvents: async () => 0 },
    actor: { email: "jitflow", name: "jitflow", role: "admin" as const },
    fields: {},
    target: { name: targetName, type: "contract", label: targetName, settings: {} },
    duration: 3600,
    flow: { name: "contract", label: "Contract", vars: {} },
    request: {
      id: "0190c0de-0000-7000-8000-000000000001",
      state: "escalating",
      createdAt: new Date().toISOString(),
      expiresAt: new Date(Date.now() + 3600_000).toISOString(),
    },
    source: "api",
    context: {},
    decisions: [],
    reason: null,
  } as FlowEvent;
}

export function callFor<S>(person: ContractPerson, settings: S, identity = person.identity): TargetCall<S> {
  return {
    evt: fakeEvent(person.email),
    module: undefined,
    signal: AbortSignal.timeout(20_000),
    identity,
    settings,
    expiresAt: new Date(Date.now() + 3600_000),
  };
}

const sorted = (xs: string[]) => [...xs].sort();

/** Registers the contract tests for one connector. `make` is called once, before the tests. */
export function targetContract<S>(name: string, make: () => Promise<ContractSubject<S>>): void {
  describe(`${name}: target contract`, () => {
    let s: ContractSubject<S>;
    before(async () => {
      s = await make();
      assert.ok(s.people.length >= 2, "the contract needs two people");
    });
    after(async () => {
      await s?.close();
    });

    test("escalate grants, and returns the canonical identity", async () => {
      const [a] = s.people as [ContractPerson];
      assert.ok(!(await s.holders()).includes(a.canonical), "starts without access");
      const result = await s.connector.escalate(callFor(a, s.settings));
      if (result?.identity !== undefined) assert.equal(result.identity, a.canonical);
      assert.ok((await s.holders()).includes(a.canonical));
    });

    test("escalate again is success and grants once", async () => {
      const [a] = s.people as [ContractPerson];
      await s.connector.escalate(callFor(a, s.settings));
      await s.connector.escalate(callFor(a, s.settings, a.canonical));
      assert.equal((await s.holders()).filter((h) => h === a.canonical).length, 1);
    });

    test("list reports who holds the target, as the target does", async () => {
      const [a, b] = s.people as [ContractPerson, ContractPerson];
      await s.connector.escalate(callFor(b, s.settings));
      assert.ok(s.connector.list, "the connector can list");
      const listed = await s.connector.list({
        module: undefined,
        signal: AbortSignal.timeout(20_000),
        settings: s.settings,
      });
      assert.deepEqual(sorted(listed), sorted(await s.holders()));
      assert.ok(listed.includes(a.canonical) && listed.includes(b.canonical));
    });

    test("deescalate takes the access away, and only that person's", async () => {
      const [a, b] = s.people as [ContractPerson, ContractPerson];
      await s.connector.deescalate(callFor(a, s.settings, a.canonical));
      const holders = await s.holders();
      assert.ok(!holders.includes(a.canonical));
      assert.ok(holders.includes(b.canonical));
    });

    test("deescalate again, and of someone who never had it, is success", async () => {
      const [a, b] = s.people as [ContractPerson, ContractPerson];
      await s.connector.deescalate(callFor(a, s.settings, a.canonical));
      await s.connector.deescalate(callFor(a, s.settings));
      await s.connector.deescalate(callFor(b, s.settings, b.canonical));
      await s.connector.deescalate(callFor(b, s.settings, b.canonical));
      const holders = await s.holders();
      assert.ok(!holders.includes(a.canonical) && !holders.includes(b.canonical));
    });

    test("an unavailable target fails for now (retried), then works when it is back", async () => {
      const [a] = s.people as [ContractPerson];
      await s.makeUnavailable();
      try {
        await assert.rejects(
          () => s.connector.escalate(callFor(a, s.settings, a.identity)),
          (err: unknown) => err instanceof Error && !(err instanceof PermanentTargetError),
        );
        await assert.rejects(
          () => s.connector.deescalate(callFor(a, s.settings, a.canonical)),
          (err: unknown) => err instanceof Error && !(err instanceof PermanentTargetError),
        );
      } finally {
        await s.restore();
      }
      await s.connector.escalate(callFor(a, s.settings));
      assert.ok((await s.holders()).includes(a.canonical));
      await s.connector.deescalate(callFor(a, s.settings, a.canonical));
      assert.ok(!(await s.holders()).includes(a.canonical));
    });

    test("something that does not exist is a permanent failure", async () => {
      const [a] = s.people as [ContractPerson];
      await assert.rejects(
        () => s.connector.escalate(callFor(a, s.unknownSettings as S)),
        (err: unknown) => err instanceof PermanentTargetError,
      );
    });
  });
}
