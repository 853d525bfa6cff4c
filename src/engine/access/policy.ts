// Who may do what: pure rules over people, flows and requests. No I/O; hooks' answers come in as arguments.

import type { ParsedConfig } from "../../config/schema.ts";
import { JitflowError } from "../../errors.ts";
import type { Permissions, Person, Role, Source } from "../../model/types.ts";
import type { TokenRole } from "../../store/tokens.ts";
import type { EngineDeps } from "../deps.ts";
import type { LoadedFlow } from "../load-config.ts";

/** A person's role: bot tokens are bots; token admins and configured admins are admins; others by email domain. */
export function roleOf(email: string, users: ParsedConfig["users"], tokenRole?: TokenRole): Role {
  const lower = email.toLowerCase();
  // A bot token stays a bot even when issued for an admin's address: automation never decides.
  if (tokenRole === "bot") return "bot";
  if (tokenRole === "admin" || users.admins.includes(lower)) return "admin";
  if (!users.memberDomains) return "member";
  const domain = lower.slice(lower.lastIndexOf("@") + 1);
  return users.memberDomains.includes(domain) ? "member" : "guest";
}

export function personOf(email: string, users: ParsedConfig["users"], tokenRole?: TokenRole): Person {
  const lower = email.toLowerCase();
  return {
    email: lower,
    name: lower.slice(0, lower.indexOf("@")) || lower,
    role: roleOf(lower, users, tokenRole),
  };
}

/** May this person ask for this flow from this source? Throws the reason if not. */
export function assertMayRequest(person: Person, flow: LoadedFlow, source: Source): void {
  if (person.role === "guest") {
    throw new JitflowError("GUEST_NOT_ALLOWED", `${person.email} is a guest; guests cannot request access`);
  }
  if (!flow.config.allowedSources.includes(source)) {
    throw new JitflowError(
      "SOURCE_NOT_ALLOWED",
      `flow "${flow.config.name}" cannot be requested from ${source} (allowed: ${flow.config.allowedSources.join(", ")})`,
    );
  }
}

/** Flows this person may see in lists and forms. */
export function mayRequest(person: Person, flow: LoadedFlow, source: Source): boolean {
  return person.role !== "guest" && flow.config.allowedSources.includes(source);
}

/**
 * The flows this person may request from this source, in config order: what they are shown, and all
 * an unknown flow's error may name. A bot asks as a member would (for itself or for someone else).
 */
export function requestableFlows(flows: Iterable<LoadedFlow>, person: Person, source: Source): LoadedFlow[] {
  const asker = person.role === "bot" ? { ...person, role: "member" as const } : person;
  return [...flows].filter((f) => mayRequest(asker, f, source));
}

export interface DeciderRules {
  /** Explicit approvers (config users, getApprovers result, or getPermissions list). */
  users: string[];
  /** A role level from getPermissions that may decide. */
  level: "admin" | "member" | "all";
  allowSelfApproval: boolean;
}

/** Combines the flow's config with the reducers' answers into who may decide. */
export function deciderRules(
  flow: LoadedFlow | undefined,
  fromGetApprovers: string[] | undefined,
  fromGetPermissions: Permissions | undefined,
): DeciderRules {
  const approvers = flow?.config.approvers;
  let users = approvers?.users ?? [];
  let level: DeciderRules["level"] = "admin";
  if (fromGetApprovers) users = fromGetApprovers.map((e) => e.toLowerCase());
  const decide = fromGetPermissions?.approveDeny;
  if (Array.isArray(decide)) users = decide.map((e) => e.toLowerCase());
  else if (decide) level = decide;
  return {
    users,
    level,
    allowSelfApproval: fromGetPermissions?.allowSelfApproval ?? approvers?.allowSelfApproval ?? false,
  };
}

const levelAllows: Record<DeciderRules["level"], ReadonlySet<Role>> = {
  admin: new Set<Role>(["admin"]),
  member: new Set<Role>(["admin", "member"]),
  all: new Set<Role>(["admin", "member", "guest"]),
};

/** Is this person someone who may approve or deny (before the self-approval rule)? */
export function isDecider(person: Person, rules: DeciderRules): boolean {
  if (person.role === "admin") return true;
  if (person.role === "bot") return false;
  return rules.users.includes(person.email) || levelAllows[rules.level].has(person.role);
}

/** Throws unless this person may approve/deny this request. */
export function assertMayDecide(person: Person, requester: string, rules: DeciderRules): void {
  if (!isDecider(person, rules)) {
    throw new JitflowError(
      "NOT_AN_APPROVER",
      `${person.email} may not approve or deny requests of this flow`,
    );
  }
  if (person.email === requester && !rules.allowSelfApproval) {
    throw new JitflowError("SELF_APPROVAL", "you cannot approve or deny your own request");
  }
}

/** Guests may press approve, deny or revoke only on flows that set allowGuestInteraction. */
export function assertGuestMayAct(person: Person, flow: LoadedFlow | undefined): void {
  if (person.role === "guest" && !flow?.config.allowGuestInteraction) {
    throw new JitflowError(
      "GUEST_NOT_ALLOWED",
      `${person.email} is a guest; guests may act on requests only of flows that set allowGuestInteraction`,
    );
  }
}

export const privileged = (actor: Person) => actor.role === "admin" || actor.role === "bot";

/** Flows whose `approvers.users` name this person. */
export function approverFlowsOf(deps: EngineDeps, email: string): string[] {
  return [...deps.config.flows.values()]
    .filter((f) => f.config.approvers?.users.includes(email))
    .map((f) => f.config.name);
}
