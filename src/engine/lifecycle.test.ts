// Every (state, command) pair of the lifecycle against a table written out here, plus its forward-only rules.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { RequestState } from "../model/types.ts";
import { type Command, commands, rank, states, terminalStates, transition } from "./lifecycle.ts";

// The allowed pairs: state × command → next state, audit event. Every other pair is refused.
const allowed: [RequestState, Command, RequestState, string][] = [
  ["pending", "record_approval", "pending", "request.approval_recorded"],
  ["pending", "advance_step", "pending", "request.step_started"],
  ["pending", "remind", "pending", "request.reminded"],
  ["pending", "forward", "pending", "request.forwarded"],
  ["pending", "approve", "approved", "request.approved"],
  ["pending", "deny", "denied", "request.denied"],
  ["pending", "cancel", "cancelled", "request.cancelled"],
  ["pending", "timeout", "expired", "request.expired"],
  ["approved", "start_escalation", "escalating", "grant.escalating"],
  ["approved", "timeout", "expired", "request.activation_expired"],
  ["approved", "revoke", "deescalating", "grant.deescalating"],
  ["escalating", "escalated", "active", "grant.active"],
  ["escalating", "fail", "deescalating", "grant.escalation_failed"],
  ["deescalating", "fail", "failed", "request.failed"],
  ["escalating", "revoke", "deescalating", "grant.deescalating"],
  ["active", "revoke", "deescalating", "grant.deescalating"],
  ["active", "expire", "deescalating", "grant.deescalating"],
  ["active", "extend", "active", "grant.extended"],
  ["deescalating", "deescalated", "ended", "grant.ended"],
];

const allStates: RequestState[] = [
  "pending",
  "approved",
  "denied",
  "expired",
  "cancelled",
  "escalating",
  "active",
  "deescalating",
  "ended",
  "failed",
];

const allCommands: Command[] = [
  "record_approval",
  "advance_step",
  "remind",
  "forward",
  "approve",
  "deny",
  "cancel",
  "timeout",
  "start_escalation",
  "escalated",
  "fail",
  "revoke",
  "expire",
  "deescalated",
  "extend",
];

function expected(state: RequestState, command: Command): { to: RequestState; event: string } | undefined {
  const row = allowed.find(([s, c]) => s === state && c === command);
  return row && { to: row[2], event: row[3] };
}

describe("lifecycle", () => {
  test("the lifecycle has exactly these 10 states and 15 commands", () => {
    assert.deepEqual(states, allStates);
    assert.deepEqual(commands, allCommands);
  });

  for (const state of allStates) {
    for (const command of allCommands) {
      const want = expected(state, command);
      test(`${state} × ${command} → ${want ? `${want.to} (${want.event})` : "refused"}`, () => {
        assert.deepEqual(transition(state, command), want);
      });
    }
  }

  test("no transition moves to a lower rank", () => {
    let count = 0;
    for (const state of states) {
      for (const command of commands) {
        const step = transition(state, command);
        if (!step) continue;
        count += 1;
        assert.ok(
          rank[step.to] >= rank[state],
          `${state} (${rank[state]}) --${command}--> ${step.to} (${rank[step.to]})`,
        );
      }
    }
    assert.equal(count, allowed.length);
  });

  test("terminal states are exactly the ones with no way out", () => {
    assert.deepEqual([...terminalStates].sort(), ["cancelled", "denied", "ended", "expired", "failed"]);
    for (const state of terminalStates) {
      for (const command of commands)
        assert.equal(transition(state, command), undefined, `${state} × ${command}`);
    }
    for (const state of states.filter((s) => !terminalStates.has(s))) {
      const onward = commands.map((c) => transition(state, c)?.to).filter((to) => to && to !== state);
      assert.ok(onward.length > 0, `${state} can move on`);
    }
  });

  test("every state can be reached from pending", () => {
    const reached = new Set<RequestState>(["pending"]);
    const queue: RequestState[] = ["pending"];
    while (queue.length > 0) {
      const state = queue.shift() as RequestState;
      for (const command of commands) {
        const to = transition(state, command)?.to;
        if (to && !reached.has(to)) {
          reached.add(to);
          queue.push(to);
        }
      }
    }
    assert.deepEqual([...reached].sort(), [...states].sort());
  });
});
