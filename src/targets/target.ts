// The connector interface every target type implements: escalate, deescalate, list — each idempotent.

import type { z } from "zod";
import { PermanentError } from "../errors.ts";
import type { FlowEvent, FlowModule, GrantCredentials, TargetInfo } from "../model/types.ts";

/** One call to a target, for one request. */
export interface TargetCall<Settings = unknown> {
  evt: FlowEvent;
  /** The flow's implementation module (custom targets call into it). */
  module: FlowModule | undefined;
  signal: AbortSignal;
  /**
   * The person as the target knows them. On escalate: the flow's getIdentity() answer, else the
   * per-user mapping (`identities`), else the connector's `identityFor(email)`. On deescalate: the
   * identity escalate returned (stored with the grant), so the access granted is the access taken away.
   */
  identity: string;
  /**
   * True when `identity` is the requester's email itself (no getIdentity answer, no mapping, nothing
   * recorded): a connector looks it up, and never reads it as a name of its own (an email shaped like
   * a DN is still an email).
   */
  identityIsEmail?: boolean;
  /** The target's settings with its field bindings filled in from the request's fields (validated). */
  settings: Settings;
  /** When the grant ends, for targets that can enforce an expiry themselves (a login's VALID UNTIL); null if never. */
  expiresAt: Date | null;
  /**
   * Set on a deescalate by drift detection, taking away access jitflow did not grant: `identity` is
   * exactly as list() reported it, and `evt.request` is not the request that created it (there is
   * none). A connector with a login per request takes `identity` as that login's name.
   */
  listed?: boolean;
}

export interface EscalateResult {
  /**
   * The identity in its canonical form, as list() reports it (a DN, a login, a user name). It is
   * stored with the grant, used to take the access away, and compared with list() for drift.
   */
  identity?: string;
  /** Credentials created for this grant only (a temporary login), delivered to the requester privately. */
  credentials?: GrantCredentials;
}

export interface ListCall<Settings = unknown> {
  module: FlowModule | undefined;
  signal: AbortSignal;
  settings: Settings;
}

export interface OptionsCall<Settings = unknown> {
  /** The bound setting whose values are wanted (a key of the settings, e.g. "repo"). */
  key: string;
  /** The target's configured settings; the bound keys are absent. */
  settings: Partial<Settings>;
  /** What the person typed so far ("" for everything); the connector may filter on it or leave it to jitflow. */
  query: string;
  signal: AbortSignal;
}

export interface TargetOption {
  value: string;
  label: string;
}

/** One value of a bound setting (fieldBindings), asked about before it is granted. */
export interface BoundValueCall<Settings = unknown> {
  /** The bound setting, e.g. "role". */
  key: string;
  value: string;
  /** The target's settings with every bound value filled in (validated). */
  settings: Settings;
  signal: AbortSignal;
}

export interface TargetConnector<Settings = unknown> {
  /** Grants access. Granting what already exists is success. */
  escalate(call: TargetCall<Settings>): Promise<EscalateResult | undefined>;
  /** Removes access. Removing what is already gone is success. */
  deescalate(call: TargetCall<Settings>): Promise<void>;
  /** Who holds the target now, in the canonical form escalate returns, when the target can tell. */
  list?(call: ListCall<Settings>): Promise<string[]>;
  /**
   * An identity written by a person (a `drift.standing` entry) in the form list() reports it: a
   * normalised DN, a lowercased login. Default: as written.
   */
  canonical?(identity: string): string;
  /** The identity to use when neither getIdentity() nor a mapping gives one. Default: the email. */
  identityFor?(email: string, settings: Settings): string;
  /** True when each request gets its own grant (a temporary login), so overlapping requests are not one grant. */
  perRequest?(settings: Settings): boolean;
  /** The grant's expiry moved (an extension): tell targets that enforce it themselves. Idempotent. */
  setExpiry?(call: TargetCall<Settings>): Promise<void>;
  /**
   * The values a bound setting can take (the repositories, groups or roles that exist), offered as
   * the field's options when it has `prefetch: true` and the flow module has no prefetch of its own.
   * At most a few hundred; jitflow filters by the query and keeps the first 100.
   */
  options?(call: OptionsCall<Settings>): Promise<TargetOption[]>;
  /**
   * Whether this value of a bound setting is one the target offers: one options() would list (it
   * exists, is of the kind granted, and is within what the connector manages), checked for this value
   * alone. Default: it is among options()' values.
   */
  offers?(call: BoundValueCall<Settings>): Promise<boolean>;
  /**
   * Why this value of a bound setting must never be granted, whatever the target's allow-list says (a
   * superuser role, jitflow's own login, a group that carries admin rights), or undefined.
   */
  refuses?(call: BoundValueCall<Settings>): Promise<string | undefined>;
  /** Releases connections (pools, sockets) when the server stops. */
  close?(): Promise<void>;
}

export interface ConnectorType<Settings, Integration = unknown> {
  type: string;
  /**
   * Validates the target's settings at config load (the common keys `type`, `label`,
   * `integration`, `fieldBindings`, `grantable`, `identities` and `drift` are removed first). Must be a zod object:
   * keys named in `fieldBindings` are optional at load and checked again when a request fills them in.
   */
  settings: z.ZodObject<z.ZodRawShape> & z.ZodType<Settings>;
  /**
   * The settings a request may fill in (`fieldBindings`), each with whether this connector can tell
   * the values it offers, given the target's fixed settings (options(), offers()). A bound value must be
   * one it offers or one the target's `grantable` list names; a setting it cannot list takes values
   * from that list only. Binding any other setting is a config error. None: nothing can be bound.
   */
  bindable?: Readonly<Record<string, (fixed: Readonly<Record<string, unknown>>) => boolean>>;
  /** The integration type this connector needs; the target names one with `integration: "NAME"`. */
  integration?: { type: string; settings: z.ZodType<Integration> };
  /**
   * Checks across settings a zod object cannot express (one of two forms), at config load.
   * `bound` names the keys a request fills in. Returns the problem, or undefined.
   */
  check?(settings: Settings, bound: string[]): string | undefined;
  create(info: TargetInfo, settings: Settings, integration: Integration): TargetConnector<Settings>;
}

/**
 * The target refuses for good (unknown group, permission denied): retrying will not help. Throw it from a
 * custom target's escalate or deescalate to fail the grant at once instead of retrying.
 *
 * @example
 * export async function escalate(evt: FlowEvent) {
 *   if (!(await sandboxExists(evt.fields.sandbox))) throw new PermanentTargetError("no such sandbox");
 * }
 */
export class PermanentTargetError extends PermanentError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "PermanentTargetError";
  }
}

/**
 * The identity is jitflow's own (the connector's database login, its bind DN, its token's user):
 * granting it anything, or taking anything from it, would turn the target against jitflow itself, so
 * neither is ever done. jitflow never grants it, so there is nothing of it to take away either.
 */
export class OwnIdentityError extends PermanentTargetError {
  constructor(type: string, identity: string, what: string) {
    super(
      `${type}: ${JSON.stringify(identity)} is ${what}, which jitflow never grants or revokes: map the person to their own identity (identities, getIdentity)`,
    );
    this.name = "OwnIdentityError";
  }
}

/**
 * Settles with `work`, or rejects with `stopped()` as soon as the signal fires, whichever comes
 * first. The work itself goes on (user code cannot be cancelled): stop it separately if you can.
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal, stopped: () => Error): Promise<T> {
  if (signal.aborted) return Promise.reject(stopped());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(stopped());
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}
