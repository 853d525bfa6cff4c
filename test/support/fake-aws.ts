// A real HTTP server on 127.0.0.1 standing in for AWS: the IAM Identity Center (SSO Admin and Identity
// Store, JSON 1.1) and IAM (Query protocol, XML) operations the aws_sso and aws_iam_group targets call.
// It checks each request carries a SigV4 Authorization header with the test access key, records every
// call, pages lists two at a time, answers throttling, 5xx or AccessDenied on demand, and can hold requests
// unanswered.

import { randomBytes, randomUUID } from "node:crypto";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type FakeAwsService = "sso-admin" | "identitystore" | "iam";
export type FakeAwsFault = "throttle" | "internal" | "unavailable" | "accessDenied";

export interface RecordedAwsRequest {
  service: FakeAwsService;
  operation: string;
  /** The `X-Amz-Target` header (JSON 1.1) or undefined (Query). */
  target: string | undefined;
  authorization: string | undefined;
  /** The access key of the SigV4 credential scope, if the header parsed. */
  accessKeyId: string | undefined;
  /** The service name of the credential scope ("sso", "identitystore", "iam"). */
  signingService: string | undefined;
  signingRegion: string | undefined;
  /** The parameters: the JSON body, or the form fields of a Query request. */
  params: Record<string, unknown>;
  status: number;
}

export interface FaultOptions {
  /** How many requests answer the fault; Infinity for all until clearFaults(). Default 1. */
  times?: number;
  /** Only this operation ("CreateGroupMembership", "AddUserToGroup"); any if omitted. */
  operation?: string;
  /** Sent as `Retry-After` with a throttle. */
  retryAfterSeconds?: number;
}

interface Assignment {
  accountId: string;
  permissionSetArn: string;
  principalType: string;
  principalId: string;
}

interface StatusRequest {
  kind: "creation" | "deletion";
  id: string;
  assignment: Assignment;
  status: "IN_PROGRESS" | "SUCCEEDED" | "FAILED";
  pollsLeft: number;
  failureReason?: string;
  createdDate: number;
}

/** An error AWS answers with: the HTTP status, the code and a message. */
class AwsFault {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly extra: Record<string, unknown>;
  readonly headers: Record<string, string>;
  constructor(
    status: number,
    code: string,
    message: string,
    extra: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ) {
    this.status = status;
    this.code = code;
    this.message = message;
    this.extra = extra;
    this.headers = headers;
  }
}

const IAM_NS = "https://iam.amazonaws.com/doc/2010-05-08/";
const INSTANCE_ID = "ssoins-1111222233334444";

export class FakeAws {
  readonly accessKeyId: string;
  readonly instanceArn = `arn:aws:sso:::instance/${INSTANCE_ID}`;
  readonly identityStoreId = "d-1234567890";
  readonly requests: RecordedAwsRequest[] = [];
  /** How many status polls answer IN_PROGRESS before an assignment request settles. */
  pollsInProgress = 0;
  /** CreateAccountAssignment of an existing assignment: false = IN_PROGRESS then SUCCEEDED, true = ConflictException. */
  conflictOnExisting = false;
  /** Items per page of every list, whatever MaxResults/MaxItems asks for. */
  pageSize = 2;
  /**
   * The IAM user the access key belongs to (GetUser without a name answers it); undefined: the key is a
   * role's, and GetUser without a name answers ValidationError, as IAM does.
   */
  callerUser: string | undefined;

  private readonly server: Server;
  private port = 0;
  private readonly users = new Map<string, { userName: string; email: string }>();
  private readonly groups = new Map<string, string>();
  private readonly memberships = new Map<string, { groupId: string; userId: string }>();
  /** Permission set ARN → its name. */
  private readonly permissionSets = new Map<string, string>();
  private readonly accounts = new Set<string>();
  private readonly assignments: Assignment[] = [];
  private readonly statusRequests = new Map<string, StatusRequest>();
  private readonly assignmentFailures: string[] = [];
  private faults: (FaultOptions & { fault: FakeAwsFault; left: number })[] = [];
  private holding = false;
  private holdOperation: string | undefined;
  /** Held requests, each resumed by calling it. */
  private readonly held: (() => void)[] = [];
  private heldWaiters: { n: number; resolve: () => void }[] = [];
  /** IAM user names as created; IAM matches them case-insensitively. */
  private readonly iamUsers: string[] = [];
  private readonly iamGroups = new Map<string, string[]>();

  private constructor(accessKeyId: string) {
    this.accessKeyId = accessKeyId;
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        res.writeHead(500).end(String(err));
      });
    });
  }

  static async start(accessKeyId = "AKIAFAKETEST00000001"): Promise<FakeAws> {
    const fake = new FakeAws(accessKeyId);
    await fake.start();
    return fake;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Listens again on the same port after stop(). */
  async start(): Promise<void> {
    this.server.listen(this.port, "127.0.0.1");
    await once(this.server, "listening");
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Stops listening and drops open connections (held requests too): clients get "connection refused" until start(). */
  async stop(): Promise<void> {
    this.holding = false;
    this.held.length = 0;
    const closed = once(this.server, "close");
    this.server.close();
    this.server.closeAllConnections();
    await closed;
  }

  async close(): Promise<void> {
    if (this.server.listening) await this.stop();
  }

  // --- set-up ---

  /** An Identity Store user; returns its UserId. */
  addUser(userName: string, email = userName): string {
    const id = `${randomBytes(5).toString("hex")}-${randomUUID()}`;
    this.users.set(id, { userName, email });
    return id;
  }

  /** Deletes an Identity Store user and what it held, as deleting it in the console does. */
  removeUser(userName: string): void {
    const id = this.userIdOf(userName);
    if (id === undefined) return;
    this.users.delete(id);
    for (const [mid, m] of this.memberships) if (m.userId === id) this.memberships.delete(mid);
    for (let i = this.assignments.length - 1; i >= 0; i--) {
      if (this.assignments[i]?.principalId === id) this.assignments.splice(i, 1);
    }
  }

  /** An Identity Store group; returns its GroupId. */
  addGroup(displayName: string): string {
    const id = `${randomBytes(5).toString("hex")}-${randomUUID()}`;
    this.groups.set(id, displayName);
    return id;
  }

  /** A permission set; returns its ARN. Names are unique in an instance, as AWS requires. */
  addPermissionSet(name = `PermissionSet${this.permissionSets.size + 1}`): string {
    if ([...this.permissionSets.values()].includes(name)) throw new Error(`permission set ${name} exists`);
    const arn = `arn:aws:sso:::permissionSet/${INSTANCE_ID}/ps-${randomBytes(8).toString("hex")}`;
    this.permissionSets.set(arn, name);
    return arn;
  }

  /** Deletes a permission set, as someone in the console would. */
  removePermissionSet(arn: string): void {
    this.permissionSets.delete(arn);
  }

  addAccount(accountId: string): void {
    this.accounts.add(accountId);
  }

  /** Assigns a permission set to a user directly, as someone in the console would. */
  assign(accountId: string, permissionSetArn: string, userName: string): void {
    const principalId = this.userIdOf(userName);
    if (principalId === undefined) throw new Error(`no user ${userName}`);
    this.assignments.push({ accountId, permissionSetArn, principalType: "USER", principalId });
  }

  /** Adds a user to an Identity Store group directly. */
  addGroupMember(groupId: string, userName: string): void {
    const userId = this.userIdOf(userName);
    if (userId === undefined) throw new Error(`no user ${userName}`);
    this.memberships.set(randomUUID(), { groupId, userId });
  }

  /** Adds a user to an IAM group directly. */
  addIamGroupMember(groupName: string, userName: string): void {
    this.iamGroups.get(groupName)?.push(userName);
  }

  addIamUser(userName: string): void {
    this.iamUsers.push(userName);
  }

  /** Deletes an IAM user (IAM refuses while it is in a group; the console removes it from them first). */
  removeIamUser(userName: string): void {
    const at = this.iamUsers.indexOf(userName);
    if (at >= 0) this.iamUsers.splice(at, 1);
    for (const members of this.iamGroups.values()) {
      const i = members.indexOf(userName);
      if (i >= 0) members.splice(i, 1);
    }
  }

  addIamGroup(groupName: string): void {
    this.iamGroups.set(groupName, []);
  }

  // --- switches ---

  /** The next matching requests answer `fault` instead of doing the work. */
  inject(fault: FakeAwsFault, options: FaultOptions = {}): void {
    this.faults.push({ ...options, fault, left: options.times ?? 1 });
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** Requests from now on (of this operation, or all) are read but not answered, until release() or stop(). */
  hold(operation?: string): void {
    this.holding = true;
    this.holdOperation = operation;
  }

  /** How many requests are held now. */
  get heldCount(): number {
    return this.held.length;
  }

  /** Answers the held requests and stops holding. */
  release(): void {
    this.holding = false;
    for (const resume of this.held.splice(0)) resume();
  }

  /** Resolves once `n` requests are held. */
  waitForHeld(n: number): Promise<void> {
    if (this.held.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.heldWaiters.push({ n, resolve }));
  }

  /** The next account assignment request (creation or deletion) ends FAILED with this reason. */
  failNextAssignment(reason: string): void {
    this.assignmentFailures.push(reason);
  }

  // --- inspection ---

  /** User names holding the permission set in the account, as ListAccountAssignments would say. */
  assignmentHolders(accountId: string, permissionSetArn: string): string[] {
    return this.assignments
      .filter(
        (a) =>
          a.accountId === accountId && a.permissionSetArn === permissionSetArn && a.principalType === "USER",
      )
      .map((a) => this.users.get(a.principalId)?.userName ?? a.principalId);
  }

  /** User names in an Identity Store group. */
  groupHolders(groupId: string): string[] {
    return [...this.memberships.values()]
      .filter((m) => m.groupId === groupId)
      .map((m) => this.users.get(m.userId)?.userName ?? m.userId);
  }

  /** User names in an IAM group. */
  iamGroupHolders(groupName: string): string[] {
    return [...(this.iamGroups.get(groupName) ?? [])];
  }

  /** The operations called, in order, optionally of one service. */
  operations(service?: FakeAwsService): string[] {
    return this.requests.filter((r) => !service || r.service === service).map((r) => r.operation);
  }

  // --- HTTP ---

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const target = header(req, "x-amz-target");
    const authorization = header(req, "authorization");
    const scope =
      /^AWS4-HMAC-SHA256 Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$/.exec(
        authorization ?? "",
      );

    let service: FakeAwsService;
    let operation: string;
    let params: Record<string, unknown>;
    if (target !== undefined) {
      const [prefix, op = ""] = target.split(".");
      service = prefix === "SWBExternalService" ? "sso-admin" : "identitystore";
      operation = op;
      params = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
      if (prefix !== "SWBExternalService" && prefix !== "AWSIdentityStore") {
        return this.answer(res, service, operation, target, authorization, scope, params, {
          error: new AwsFault(400, "UnknownOperationException", `unknown target ${target}`),
        });
      }
    } else {
      service = "iam";
      params = Object.fromEntries(new URLSearchParams(raw));
      operation = String(params.Action ?? "");
    }
    if (this.holding && (this.holdOperation === undefined || this.holdOperation === operation)) {
      await new Promise<void>((resume) => {
        this.held.push(resume);
        for (const w of this.heldWaiters.filter((x) => this.held.length >= x.n)) w.resolve();
        this.heldWaiters = this.heldWaiters.filter((x) => this.held.length < x.n);
      });
    }

    let outcome: { body?: unknown; error?: AwsFault };
    if (!scope || !header(req, "x-amz-date")) {
      outcome = {
        error:
          service === "iam"
            ? new AwsFault(403, "MissingAuthenticationToken", "Request is missing Authentication Token")
            : new AwsFault(400, "MissingAuthenticationTokenException", "Missing Authentication Token"),
      };
    } else if (scope[1] !== this.accessKeyId) {
      outcome = {
        error:
          service === "iam"
            ? new AwsFault(
                403,
                "InvalidClientTokenId",
                "The security token included in the request is invalid.",
              )
            : new AwsFault(
                400,
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
              ),
      };
    } else {
      const fault = this.takeFault(operation);
      try {
        if (fault) throw faultFor(service, fault.fault, operation, fault.retryAfterSeconds);
        if (service === "iam") {
          if (params.Version !== "2010-05-08")
            throw new AwsFault(400, "InvalidAction", "Could not find operation");
          outcome = { body: this.iam(operation, params) };
        } else if (service === "sso-admin") {
          outcome = { body: this.ssoAdmin(operation, params) };
        } else {
          outcome = { body: this.identityStore(operation, params) };
        }
      } catch (err) {
        if (!(err instanceof AwsFault)) throw err;
        outcome = { error: err };
      }
    }
    this.answer(res, service, operation, target, authorization, scope, params, outcome);
  }

  private answer(
    res: ServerResponse,
    service: FakeAwsService,
    operation: string,
    target: string | undefined,
    authorization: string | undefined,
    scope: RegExpExecArray | null,
    params: Record<string, unknown>,
    outcome: { body?: unknown; error?: AwsFault },
  ): void {
    const requestId = randomUUID();
    const status = outcome.error?.status ?? 200;
    this.requests.push({
      service,
      operation,
      target,
      authorization,
      accessKeyId: scope?.[1],
      signingRegion: scope?.[2],
      signingService: scope?.[3],
      params,
      status,
    });
    if (service === "iam") {
      const body = outcome.error
        ? `<ErrorResponse xmlns="${IAM_NS}"><Error><Type>${status >= 500 ? "Receiver" : "Sender"}</Type><Code>${outcome.error.code}</Code><Message>${xml(outcome.error.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`
        : `<${operation}Response xmlns="${IAM_NS}">${outcome.body ?? ""}<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${operation}Response>`;
      res.writeHead(status, {
        "content-type": "text/xml",
        "x-amzn-requestid": requestId,
        ...outcome.error?.headers,
      });
      res.end(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`);
      return;
    }
    const body = outcome.error
      ? { __type: outcome.error.code, Message: outcome.error.message, ...outcome.error.extra }
      : (outcome.body ?? {});
    res.writeHead(status, {
      "content-type": "application/x-amz-json-1.1",
      "x-amzn-requestid": requestId,
      ...outcome.error?.headers,
    });
    res.end(JSON.stringify(body));
  }

  private takeFault(operation: string): (FaultOptions & { fault: FakeAwsFault }) | undefined {
    const f = this.faults.find((x) => x.left > 0 && (x.operation === undefined || x.operation === operation));
    if (f) f.left -= 1;
    return f;
  }

  // --- SSO Admin (service target SWBExternalService) ---

  private ssoAdmin(operation: string, p: Record<string, unknown>): unknown {
    if (p.InstanceArn !== this.instanceArn) {
      throw new AwsFault(400, "ResourceNotFoundException", `Instance ${String(p.InstanceArn)} not found`);
    }
    switch (operation) {
      case "CreateAccountAssignment":
      case "DeleteAccountAssignment": {
        const a = this.assignmentParams(p);
        const kind = operation === "CreateAccountAssignment" ? "creation" : "deletion";
        const exists = this.findAssignment(a) >= 0;
        if (kind === "creation" && exists && this.conflictOnExisting) {
          throw new AwsFault(400, "ConflictException", "The account assignment already exists.");
        }
        if (kind === "deletion" && !exists) {
          throw new AwsFault(
            400,
            "ResourceNotFoundException",
            "The specified account assignment does not exist.",
          );
        }
        const failureReason =
          this.assignmentFailures.shift() ??
          (this.accounts.has(a.accountId)
            ? undefined
            : `Received a 404 status error: Account ${a.accountId} is not found in the organization`);
        const r: StatusRequest = {
          kind,
          id: randomUUID(),
          assignment: a,
          status: "IN_PROGRESS",
          pollsLeft: this.pollsInProgress,
          createdDate: Date.now() / 1000,
          ...(failureReason === undefined ? {} : { failureReason }),
        };
        this.statusRequests.set(r.id, r);
        const key =
          kind === "creation" ? "AccountAssignmentCreationStatus" : "AccountAssignmentDeletionStatus";
        return { [key]: statusOf(r) };
      }
      case "DescribeAccountAssignmentCreationStatus":
      case "DescribeAccountAssignmentDeletionStatus": {
        const kind = operation === "DescribeAccountAssignmentCreationStatus" ? "creation" : "deletion";
        const id =
          kind === "creation" ? p.AccountAssignmentCreationRequestId : p.AccountAssignmentDeletionRequestId;
        const r = this.statusRequests.get(String(id));
        if (!r || r.kind !== kind) {
          throw new AwsFault(400, "ResourceNotFoundException", `Request ${String(id)} not found`);
        }
        if (r.status === "IN_PROGRESS") {
          if (r.pollsLeft > 0) r.pollsLeft -= 1;
          else this.settle(r);
        }
        const key =
          kind === "creation" ? "AccountAssignmentCreationStatus" : "AccountAssignmentDeletionStatus";
        return { [key]: statusOf(r) };
      }
      case "ListAccountAssignments": {
        const accountId = String(p.AccountId);
        const psArn = String(p.PermissionSetArn);
        if (!this.permissionSets.has(psArn)) {
          throw new AwsFault(
            400,
            "ResourceNotFoundException",
            `Could not find PermissionSet with ARN ${psArn}`,
          );
        }
        const all = this.assignments.filter((a) => a.accountId === accountId && a.permissionSetArn === psArn);
        const { page, next } = this.page(all, p.NextToken, p.MaxResults);
        return {
          AccountAssignments: page.map((a) => ({
            AccountId: a.accountId,
            PermissionSetArn: a.permissionSetArn,
            PrincipalType: a.principalType,
            PrincipalId: a.principalId,
          })),
          ...(next ? { NextToken: next } : {}),
        };
      }
      case "ListPermissionSets": {
        maxResults(p.MaxResults, 100);
        const { page, next } = this.page([...this.permissionSets.keys()], p.NextToken, p.MaxResults);
        return { PermissionSets: page, ...(next ? { NextToken: next } : {}) };
      }
      case "DescribePermissionSet": {
        const psArn = String(p.PermissionSetArn);
        const name = this.permissionSets.get(psArn);
        if (name === undefined) {
          throw new AwsFault(
            400,
            "ResourceNotFoundException",
            `Could not find PermissionSet with ARN ${psArn}`,
          );
        }
        return {
          PermissionSet: {
            Name: name,
            PermissionSetArn: psArn,
            CreatedDate: 1_704_067_200,
            SessionDuration: "PT1H",
          },
        };
      }
      default:
        throw new AwsFault(400, "UnknownOperationException", `fake-aws does not implement ${operation}`);
    }
  }

  private assignmentParams(p: Record<string, unknown>): Assignment {
    if (p.TargetType !== "AWS_ACCOUNT")
      throw new AwsFault(400, "ValidationException", "TargetType must be AWS_ACCOUNT");
    if (typeof p.TargetId !== "string" || !/^\d{12}$/.test(p.TargetId)) {
      throw new AwsFault(
        400,
        "ValidationException",
        "1 validation error detected: Value at 'targetId' failed to satisfy constraint",
      );
    }
    if (p.PrincipalType !== "USER" && p.PrincipalType !== "GROUP") {
      throw new AwsFault(400, "ValidationException", "PrincipalType must be USER or GROUP");
    }
    const psArn = String(p.PermissionSetArn);
    if (!this.permissionSets.has(psArn)) {
      throw new AwsFault(400, "ResourceNotFoundException", `Could not find PermissionSet with ARN ${psArn}`);
    }
    const principalId = String(p.PrincipalId);
    if (p.PrincipalType === "USER" && !this.users.has(principalId)) {
      throw new AwsFault(400, "ResourceNotFoundException", `Could not find USER with ID ${principalId}`);
    }
    return { accountId: p.TargetId, permissionSetArn: psArn, principalType: p.PrincipalType, principalId };
  }

  private findAssignment(a: Assignment): number {
    return this.assignments.findIndex(
      (x) =>
        x.accountId === a.accountId &&
        x.permissionSetArn === a.permissionSetArn &&
        x.principalType === a.principalType &&
        x.principalId === a.principalId,
    );
  }

  private settle(r: StatusRequest): void {
    if (r.failureReason !== undefined) {
      r.status = "FAILED";
      return;
    }
    const i = this.findAssignment(r.assignment);
    if (r.kind === "creation" && i < 0) this.assignments.push(r.assignment);
    if (r.kind === "deletion" && i >= 0) this.assignments.splice(i, 1);
    r.status = "SUCCEEDED";
  }

  // --- Identity Store (service target AWSIdentityStore) ---

  private identityStore(operation: string, p: Record<string, unknown>): unknown {
    if (p.IdentityStoreId !== this.identityStoreId) {
      throw new AwsFault(
        400,
        "ResourceNotFoundException",
        `Identity store ${String(p.IdentityStoreId)} not found`,
        {
          ResourceType: "IDENTITY_STORE",
          ResourceId: p.IdentityStoreId,
        },
      );
    }
    const store = { IdentityStoreId: this.identityStoreId };
    switch (operation) {
      case "GetUserId": {
        const unique = (
          p.AlternateIdentifier as { UniqueAttribute?: { AttributePath?: string; AttributeValue?: unknown } }
        )?.UniqueAttribute;
        const path = unique?.AttributePath?.toLowerCase();
        if (path !== "username" && path !== "emails.value") {
          throw new AwsFault(
            400,
            "ValidationException",
            `Invalid AttributePath ${String(unique?.AttributePath)}`,
          );
        }
        const value = String(unique?.AttributeValue).toLowerCase();
        for (const [id, u] of this.users) {
          if ((path === "username" ? u.userName : u.email).toLowerCase() === value)
            return { UserId: id, ...store };
        }
        throw notFound("USER", String(unique?.AttributeValue));
      }
      case "DescribeUser": {
        const u = this.users.get(String(p.UserId));
        if (!u) throw notFound("USER", String(p.UserId));
        return {
          UserName: u.userName,
          UserId: p.UserId,
          DisplayName: u.userName,
          Emails: [{ Value: u.email, Type: "work", Primary: true }],
          ...store,
        };
      }
      case "CreateGroupMembership": {
        const { groupId, userId } = this.membershipParams(p, true);
        if (this.membershipOf(groupId, userId)) {
          throw new AwsFault(400, "ConflictException", "Member and Group relationship already exists.", {
            Reason: "UNIQUENESS_CONSTRAINT_VIOLATION",
          });
        }
        const id = randomUUID();
        this.memberships.set(id, { groupId, userId });
        return { MembershipId: id, ...store };
      }
      case "GetGroupMembershipId": {
        const { groupId, userId } = this.membershipParams(p, false);
        const id = this.membershipOf(groupId, userId);
        if (!id) throw notFound("GROUP_MEMBERSHIP", `${groupId}/${userId}`);
        return { MembershipId: id, ...store };
      }
      case "DeleteGroupMembership": {
        if (!this.memberships.delete(String(p.MembershipId)))
          throw notFound("GROUP_MEMBERSHIP", String(p.MembershipId));
        return {};
      }
      case "ListGroupMemberships": {
        const groupId = String(p.GroupId);
        if (!this.groups.has(groupId)) throw notFound("GROUP", groupId);
        const all = [...this.memberships].filter(([, m]) => m.groupId === groupId);
        const { page, next } = this.page(all, p.NextToken, p.MaxResults);
        return {
          GroupMemberships: page.map(([id, m]) => ({
            MembershipId: id,
            GroupId: m.groupId,
            MemberId: { UserId: m.userId },
            ...store,
          })),
          ...(next ? { NextToken: next } : {}),
        };
      }
      case "DescribeGroup": {
        const displayName = this.groups.get(String(p.GroupId));
        if (displayName === undefined) throw notFound("GROUP", String(p.GroupId));
        return { GroupId: p.GroupId, DisplayName: displayName, ...store };
      }
      case "ListGroups": {
        maxResults(p.MaxResults, 100);
        const { page, next } = this.page([...this.groups], p.NextToken, p.MaxResults);
        return {
          Groups: page.map(([id, displayName]) => ({ GroupId: id, DisplayName: displayName, ...store })),
          ...(next ? { NextToken: next } : {}),
        };
      }
      default:
        throw new AwsFault(400, "UnknownOperationException", `fake-aws does not implement ${operation}`);
    }
  }

  private membershipParams(
    p: Record<string, unknown>,
    userMustExist: boolean,
  ): { groupId: string; userId: string } {
    const groupId = String(p.GroupId);
    const userId = String((p.MemberId as { UserId?: string } | undefined)?.UserId);
    if (!this.groups.has(groupId)) throw notFound("GROUP", groupId);
    if (userMustExist && !this.users.has(userId)) throw notFound("USER", userId);
    return { groupId, userId };
  }

  private membershipOf(groupId: string, userId: string): string | undefined {
    for (const [id, m] of this.memberships) if (m.groupId === groupId && m.userId === userId) return id;
    return undefined;
  }

  /** The IAM user's name as created, matched case-insensitively as IAM does. */
  private iamUserNamed(userName: string): string {
    const found = this.iamUsers.find((u) => u.toLowerCase() === userName.toLowerCase());
    if (found === undefined)
      throw new AwsFault(404, "NoSuchEntity", `The user with name ${userName} cannot be found.`);
    return found;
  }

  private userIdOf(userName: string): string | undefined {
    for (const [id, u] of this.users) if (u.userName === userName) return id;
    return undefined;
  }

  /** One page of `all` from the token's offset; the token is opaque to clients, as AWS's are. */
  private page<T>(all: T[], token: unknown, max: unknown): { page: T[]; next: string | undefined } {
    const start =
      token === undefined || token === "" ? 0 : Number(Buffer.from(String(token), "base64url").toString());
    if (!Number.isInteger(start) || start < 0)
      throw new AwsFault(400, "ValidationException", "Invalid pagination token");
    const size = Math.min(
      this.pageSize,
      typeof max === "number" || typeof max === "string" ? Number(max) : Infinity,
    );
    const end = start + size;
    return {
      page: all.slice(start, end),
      next: end < all.length ? Buffer.from(String(end)).toString("base64url") : undefined,
    };
  }

  // --- IAM (Query protocol, 2010-05-08) ---

  private iam(operation: string, p: Record<string, unknown>): string {
    const groupName = String(p.GroupName ?? "");
    const members = this.iamGroups.get(groupName);
    switch (operation) {
      case "GetUser": {
        if (p.UserName === undefined && this.callerUser === undefined) {
          throw new AwsFault(
            400,
            "ValidationError",
            "Must specify userName when calling with non-User credentials",
          );
        }
        const userName = this.iamUserNamed(String(p.UserName ?? this.callerUser));
        return `<GetUserResult><User>${iamUser(userName)}</User></GetUserResult>`;
      }
      case "ListGroupsForUser": {
        const userName = this.iamUserNamed(String(p.UserName ?? ""));
        const of = [...this.iamGroups].filter(([, m]) => m.includes(userName)).map(([g]) => g);
        const { page, next } = this.page(of, p.Marker, p.MaxItems);
        const groups = page.map((g) => `<member>${iamGroup(g)}</member>`).join("");
        return `<ListGroupsForUserResult><Groups>${groups}</Groups><IsTruncated>${next !== undefined}</IsTruncated>${next !== undefined ? `<Marker>${next}</Marker>` : ""}</ListGroupsForUserResult>`;
      }
      case "AddUserToGroup":
      case "RemoveUserFromGroup": {
        if (!members)
          throw new AwsFault(404, "NoSuchEntity", `The group with name ${groupName} cannot be found.`);
        const userName = this.iamUserNamed(String(p.UserName ?? ""));
        const i = members.indexOf(userName);
        if (operation === "AddUserToGroup" && i < 0) members.push(userName);
        if (operation === "RemoveUserFromGroup") {
          if (i < 0)
            throw new AwsFault(
              404,
              "NoSuchEntity",
              `The user with name ${userName} is not in group ${groupName}.`,
            );
          members.splice(i, 1);
        }
        return "";
      }
      case "GetGroup": {
        if (!members)
          throw new AwsFault(404, "NoSuchEntity", `The group with name ${groupName} cannot be found.`);
        const { page, next } = this.page(members, p.Marker, p.MaxItems);
        const users = page.map((u) => `<member>${iamUser(u)}</member>`).join("");
        return `<GetGroupResult><Group>${iamGroup(groupName)}</Group><Users>${users}</Users><IsTruncated>${next !== undefined}</IsTruncated>${next !== undefined ? `<Marker>${next}</Marker>` : ""}</GetGroupResult>`;
      }
      case "ListGroups": {
        const max = p.MaxItems === undefined ? 100 : Number(p.MaxItems);
        if (!Number.isInteger(max) || max < 1 || max > 1000) {
          throw new AwsFault(
            400,
            "ValidationError",
            `1 validation error detected: Value '${String(p.MaxItems)}' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000`,
          );
        }
        const { page, next } = this.page([...this.iamGroups.keys()], p.Marker, max);
        const groups = page.map((g) => `<member>${iamGroup(g)}</member>`).join("");
        return `<ListGroupsResult><Groups>${groups}</Groups><IsTruncated>${next !== undefined}</IsTruncated>${next !== undefined ? `<Marker>${next}</Marker>` : ""}</ListGroupsResult>`;
      }
      default:
        throw new AwsFault(
          400,
          "InvalidAction",
          `The action ${operation} is not valid for this web service.`,
        );
    }
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function statusOf(r: StatusRequest): Record<string, unknown> {
  return {
    Status: r.status,
    RequestId: r.id,
    TargetId: r.assignment.accountId,
    TargetType: "AWS_ACCOUNT",
    PermissionSetArn: r.assignment.permissionSetArn,
    PrincipalType: r.assignment.principalType,
    PrincipalId: r.assignment.principalId,
    CreatedDate: r.createdDate,
    ...(r.status === "FAILED" ? { FailureReason: r.failureReason } : {}),
  };
}

function notFound(resourceType: string, resourceId: string): AwsFault {
  return new AwsFault(400, "ResourceNotFoundException", `${resourceType} not found.`, {
    ResourceType: resourceType,
    ResourceId: resourceId,
  });
}

function faultFor(
  service: FakeAwsService,
  fault: FakeAwsFault,
  operation: string,
  retryAfterSeconds?: number,
): AwsFault {
  const iam = service === "iam";
  const headers: Record<string, string> =
    retryAfterSeconds === undefined ? {} : { "retry-after": String(retryAfterSeconds) };
  switch (fault) {
    case "throttle":
      return iam
        ? new AwsFault(400, "Throttling", "Rate exceeded", {}, headers)
        : new AwsFault(400, "ThrottlingException", "Rate exceeded", {}, headers);
    case "internal":
      return iam
        ? new AwsFault(
            500,
            "ServiceFailure",
            "The request processing has failed because of an unknown error, exception or failure.",
          )
        : new AwsFault(500, "InternalServerException", "An internal error occurred.");
    case "unavailable":
      return new AwsFault(
        503,
        iam ? "ServiceUnavailable" : "ServiceUnavailableException",
        "Service is unavailable.",
      );
    case "accessDenied": {
      const action = `${iam ? "iam" : service === "sso-admin" ? "sso" : "identitystore"}:${operation}`;
      const message = `User: arn:aws:iam::123456789012:user/jitflow is not authorized to perform: ${action}`;
      return iam
        ? new AwsFault(403, "AccessDenied", message)
        : new AwsFault(400, "AccessDeniedException", message);
    }
  }
}

/** JSON 1.1 list operations take MaxResults from 1 to `limit`, or none. */
function maxResults(value: unknown, limit: number): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > limit) {
    throw new AwsFault(
      400,
      "ValidationException",
      `1 validation error detected: Value '${String(value)}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and ${limit}`,
    );
  }
}

function iamGroup(name: string): string {
  return `<Path>/</Path><GroupName>${xml(name)}</GroupName><GroupId>AGPA${hash(name)}</GroupId><Arn>arn:aws:iam::123456789012:group/${xml(name)}</Arn><CreateDate>2024-01-01T00:00:00Z</CreateDate>`;
}

function iamUser(name: string): string {
  return `<Path>/</Path><UserName>${xml(name)}</UserName><UserId>AIDA${hash(name)}</UserId><Arn>arn:aws:iam::123456789012:user/${xml(name)}</Arn><CreateDate>2024-01-01T00:00:00Z</CreateDate>`;
}

function xml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function hash(s: string): string {
  return Buffer.from(s).toString("hex").toUpperCase().padEnd(17, "0").slice(0, 17);
}
