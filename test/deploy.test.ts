// The deployment files in deploy/ hold for the tools that read them: yamllint, systemd, Kubernetes' API schema, compose and jitflow.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { stripTypeScriptTypes } from "node:module";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { after, type TestContext, test } from "node:test";
import { fileURLToPath } from "node:url";
import { parse, parseAllDocuments } from "yaml";

const root = fileURLToPath(new URL("..", import.meta.url));
const deploy = join(root, "deploy");
const kubernetes = join(deploy, "kubernetes");
const read = (path: string) => readFileSync(path, "utf8");
const version: string = JSON.parse(read(join(root, "package.json"))).version;

let scratchRoot: string | undefined;
after(() => scratchRoot && rmSync(scratchRoot, { recursive: true, force: true }));
/** A new temporary directory, removed when the tests end. */
function scratch(prefix: string): string {
  scratchRoot ??= mkdtempSync(join(tmpdir(), "jitflow-deploy-"));
  return mkdtempSync(join(scratchRoot, prefix));
}

interface Run {
  /** The exit code; -1 when the command could not be started (not installed). */
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end and collects its output, whatever its exit code. */
async function run(
  command: string,
  args: string[],
  options: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<Run> {
  const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd ?? root });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (s: string) => {
    stdout += s;
  });
  child.stderr.setEncoding("utf8").on("data", (s: string) => {
    stderr += s;
  });
  child.stdin.on("error", () => {});
  child.stdin.end(options.input ?? "");
  const code = await new Promise<number>((resolve) => {
    child.on("error", () => resolve(-1));
    child.on("close", (c: number | null) => resolve(c ?? -1));
  });
  return { code, stdout, stderr };
}

const show = (r: Run) => `exit ${r.code}\n${r.stdout}${r.stderr}`;

/** Why a tool cannot be used here, or undefined when it can. */
async function toolMissing(command: string, args: string[], install: string): Promise<string | undefined> {
  const r = await run(command, args);
  return r.code === 0 ? undefined : `${command} is not available (${install})`;
}

/** Skips the test when a tool is missing; in CI (CI=true) a missing tool fails it instead. */
function skipped(t: TestContext, missing: string | undefined): boolean {
  if (missing === undefined) return false;
  if (process.env.CI === "true") assert.fail(missing);
  t.skip(missing);
  return true;
}

// --- YAML ----------------------------------------------------------------------------------------------

const yamlFiles = (function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : /\.ya?ml$/.test(e.name) ? [join(dir, e.name)] : [],
  );
})(deploy);

test("yamllint accepts every YAML file under deploy/", async (t) => {
  if (skipped(t, await toolMissing("yamllint", ["--version"], "apt-get install yamllint"))) return;
  assert.ok(yamlFiles.length >= 7, `found only ${yamlFiles.join(", ")}`);
  const config =
    "{extends: default, rules: {line-length: {max: 120}, document-start: disable, truthy: {check-keys: false}}}";
  const r = await run("yamllint", ["-s", "-f", "parsable", "-d", config, ...yamlFiles]);
  assert.equal(r.code, 0, show(r));
});

// --- systemd -------------------------------------------------------------------------------------------

const unitPath = join(deploy, "jitflow.service");
const unitText = read(unitPath);

/** The unit's directives by section; a key set more than once keeps every value in order. */
const unit = (() => {
  const sections = new Map<string, Map<string, string[]>>();
  let current = new Map<string, string[]>();
  for (const line of unitText.split("\n").map((l) => l.trim())) {
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      current = new Map();
      sections.set(section[1] as string, current);
      continue;
    }
    const eq = line.indexOf("=");
    assert.ok(eq > 0, `not a directive: ${line}`);
    const key = line.slice(0, eq);
    current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1)]);
  }
  return sections;
})();
const service = (key: string) => unit.get("Service")?.get(key);

const verifyMissing = toolMissing("systemd-analyze", ["--version"], "apt-get install systemd");

test("systemd-analyze verify reports nothing about deploy/jitflow.service", async (t) => {
  if (skipped(t, await verifyMissing)) return;
  const node = (service("ExecStart")?.[0] ?? "").split(" ")[0] as string;
  let path = unitPath;
  if (!existsSync(node)) {
    // verify fails a unit whose ExecStart binary is missing, and where node lives is the machine's
    // business, not the unit's: check a copy that runs this node instead (same name, so same checks).
    const dir = scratch("unit-");
    path = join(dir, "jitflow.service");
    writeFileSync(path, unitText.replace(/^ExecStart=\S+/m, `ExecStart=${process.execPath}`));
  }
  const r = await run("systemd-analyze", ["verify", path]);
  // Bad values and unknown keys are warnings (exit 0) naming the unit: any such line is a failure.
  const aboutUnit = `${r.stdout}${r.stderr}`.split("\n").filter((l) => l.includes("jitflow.service"));
  assert.deepEqual(aboutUnit, [], show(r));
  assert.equal(r.code, 0, show(r));
});

test("systemd-analyze security rates the unit's exposure at 2.0 or less", async (t) => {
  if (skipped(t, await verifyMissing)) return;
  const r = await run("systemd-analyze", ["security", "--offline=true", "--threshold=20", unitPath]);
  if (r.code !== 0 && /unrecognized option|unknown option/i.test(r.stderr)) {
    // --offline came with systemd 252.
    if (skipped(t, `systemd-analyze security --offline is not supported here: ${r.stderr.trim()}`)) return;
  }
  const level = /Overall exposure level for jitflow\.service: ([\d.]+)/.exec(r.stdout)?.[1];
  assert.ok(level !== undefined, show(r));
  assert.ok(Number(level) <= 2, `exposure ${level}: ${show(r)}`);
  assert.equal(r.code, 0, show(r));
});

test("the unit runs `jitflow serve` on node, hardened, and stops within its grace period", () => {
  const execStart = service("ExecStart") ?? [];
  assert.equal(execStart.length, 1);
  assert.match(
    execStart[0] as string,
    /^\/\S*node \/opt\/jitflow\/node_modules\/jitflow\/bin\/jitflow\.js serve$/,
  );
  const expected: Record<string, string> = {
    Type: "simple",
    DynamicUser: "yes",
    StateDirectory: "jitflow",
    ProtectSystem: "strict",
    ProtectHome: "yes",
    PrivateTmp: "yes",
    NoNewPrivileges: "yes",
    CapabilityBoundingSet: "",
    RestrictAddressFamilies: "AF_INET AF_INET6 AF_UNIX",
    EnvironmentFile: "-/etc/jitflow/jitflow.env",
    KillSignal: "SIGTERM",
    Restart: "on-failure",
  };
  for (const [key, value] of Object.entries(expected)) assert.deepEqual(service(key), [value], key);
  assert.equal(service("SystemCallFilter")?.[0], "@system-service");
  // V8's JIT writes machine code into memory it then runs: with this set, node cannot start.
  assert.equal(service("MemoryDenyWriteExecute"), undefined);
  assert.ok(seconds(service("TimeoutStopSec")?.[0]) > 30, "TimeoutStopSec must exceed jitflow's 30 s");
  const env = Object.fromEntries((service("Environment") ?? []).flatMap((e) => e.split(" ").map(pair)));
  assert.equal(env.JITFLOW_CONFIG, "/etc/jitflow/jitflow.config.ts");
  // The database must be in the StateDirectory: with ProtectSystem=strict nothing else is writable.
  assert.equal(env.JITFLOW_DATABASE_URL, "sqlite:/var/lib/jitflow/jitflow.db");
});

/** "40", "40s", "1min 10s" or "1m" as seconds. */
function seconds(value: string | undefined): number {
  assert.ok(value !== undefined, "missing duration");
  const units: Record<string, number> = { "": 1, s: 1, sec: 1, m: 60, min: 60 };
  let total = 0;
  for (const [, n, unit] of value.matchAll(/(\d+)\s*([a-z]*)/g)) {
    const factor = units[unit as string];
    assert.ok(factor !== undefined, `unit ${unit} in ${value}`);
    total += Number(n) * factor;
  }
  return total;
}

function pair(s: string): [string, string] {
  const eq = s.indexOf("=");
  return [s.slice(0, eq), s.slice(eq + 1)];
}

// --- Kubernetes ----------------------------------------------------------------------------------------

// Parsed YAML: the checks below are its schema, so the values are read untyped.
type Json = any;

const manifestFiles = readdirSync(kubernetes).filter(
  (f) => f.endsWith(".yaml") && f !== "kustomization.yaml",
);
const manifests: { file: string; doc: Json }[] = manifestFiles.flatMap((file) =>
  parseAllDocuments(read(join(kubernetes, file))).map((d) => {
    assert.deepEqual(d.errors, [], file);
    return { file, doc: d.toJS() };
  }),
);
const one = (kind: string): Json => {
  const found = manifests.filter((m) => m.doc?.kind === kind);
  assert.equal(found.length, 1, `one ${kind}, found ${found.length}`);
  return found[0]?.doc;
};
const deployment = one("Deployment");
const pod = deployment.spec.template;
const container = pod.spec.containers[0];
const secret = one("Secret");
const configMap = one("ConfigMap");
const label = { "app.kubernetes.io/name": "jitflow" };

/**
 * Field names of the API objects, from the Kubernetes API reference (v1.33): a misspelt field, which
 * the API server may drop with only a warning, fails here. Top level and metadata: those a hand-written
 * manifest has any business setting.
 */
const apiFields = {
  Object: "apiVersion kind metadata spec data binaryData stringData type immutable",
  ObjectMeta: "name namespace labels annotations",
  DeploymentSpec:
    "minReadySeconds paused progressDeadlineSeconds replicas revisionHistoryLimit selector strategy template",
  PodSpec: `activeDeadlineSeconds affinity automountServiceAccountToken containers dnsConfig dnsPolicy
    enableServiceLinks ephemeralContainers hostAliases hostIPC hostNetwork hostPID hostUsers hostname
    imagePullSecrets initContainers nodeName nodeSelector os overhead preemptionPolicy priority
    priorityClassName readinessGates resourceClaims resources restartPolicy runtimeClassName schedulerName
    schedulingGates securityContext serviceAccount serviceAccountName setHostnameAsFQDN
    shareProcessNamespace subdomain terminationGracePeriodSeconds tolerations topologySpreadConstraints
    volumes`,
  Container: `args command env envFrom image imagePullPolicy lifecycle livenessProbe name ports
    readinessProbe resizePolicy resources restartPolicy securityContext startupProbe stdin stdinOnce
    terminationMessagePath terminationMessagePolicy tty volumeDevices volumeMounts workingDir`,
  ContainerPort: "containerPort hostIP hostPort name protocol",
  EnvVar: "name value valueFrom",
  EnvVarSource: "configMapKeyRef fieldRef resourceFieldRef secretKeyRef",
  SecretKeySelector: "key name optional",
  Probe: `exec failureThreshold grpc httpGet initialDelaySeconds periodSeconds successThreshold tcpSocket
    terminationGracePeriodSeconds timeoutSeconds`,
  HTTPGetAction: "host httpHeaders path port scheme",
  PodSecurityContext: `appArmorProfile fsGroup fsGroupChangePolicy runAsGroup runAsNonRoot runAsUser
    seLinuxChangePolicy seLinuxOptions seccompProfile supplementalGroups supplementalGroupsPolicy sysctls
    windowsOptions`,
  SecurityContext: `allowPrivilegeEscalation appArmorProfile capabilities privileged procMount
    readOnlyRootFilesystem runAsGroup runAsNonRoot runAsUser seLinuxOptions seccompProfile windowsOptions`,
  ServiceSpec: `allocateLoadBalancerNodePorts clusterIP clusterIPs externalIPs externalName
    externalTrafficPolicy healthCheckNodePort internalTrafficPolicy ipFamilies ipFamilyPolicy
    loadBalancerClass loadBalancerIP loadBalancerSourceRanges ports publishNotReadyAddresses selector
    sessionAffinity sessionAffinityConfig trafficDistribution type`,
  ServicePort: "appProtocol name nodePort port protocol targetPort",
  PodDisruptionBudgetSpec: "maxUnavailable minAvailable selector unhealthyPodEvictionPolicy",
};

/** Fails on a field the object's kind does not have, or a required one missing. */
function fields(what: string, object: Json, kind: keyof typeof apiFields, required: string[] = []) {
  assert.ok(typeof object === "object" && object !== null, `${what} is an object`);
  const names = apiFields[kind].split(/\s+/);
  for (const key of Object.keys(object)) assert.ok(names.includes(key), `${what}: unknown field ${key}`);
  for (const key of required) assert.ok(object[key] !== undefined, `${what}: ${key} is required`);
}

const dns1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const portName = /^(?=.*[a-z])[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const isInt = (v: unknown, min = 0, max = 2 ** 31 - 1) =>
  Number.isInteger(v) && (v as number) >= min && (v as number) <= max;

test("every manifest is a known kind with apiVersion, metadata.name and the jitflow label", () => {
  const known = [
    "apps/v1 Deployment",
    "v1 Service",
    "policy/v1 PodDisruptionBudget",
    "v1 Secret",
    "v1 ConfigMap",
  ];
  assert.deepEqual(manifests.map((m) => `${m.doc?.apiVersion} ${m.doc?.kind}`).sort(), known.sort());
  for (const { file, doc } of manifests) {
    fields(`${file}`, doc, "Object", ["apiVersion", "kind", "metadata"]);
    fields(`${file} metadata`, doc.metadata, "ObjectMeta", ["name"]);
    assert.match(doc.metadata.name, dns1123, `${file}: metadata.name`);
    assert.deepEqual(doc.metadata.labels, label, `${file}: labels`);
  }
});

test("the Deployment's fields, selector and rollout", () => {
  fields("Deployment.spec", deployment.spec, "DeploymentSpec", ["selector", "template"]);
  assert.equal(deployment.spec.replicas, 2);
  assert.deepEqual(deployment.spec.strategy, {
    type: "RollingUpdate",
    rollingUpdate: { maxUnavailable: 0, maxSurge: 1 },
  });
  assert.deepEqual(deployment.spec.selector, { matchLabels: label });
  for (const [key, value] of Object.entries(deployment.spec.selector.matchLabels))
    assert.equal(pod.metadata.labels[key], value, `the pods carry the selector's ${key}`);
  fields("PodSpec", pod.spec, "PodSpec", ["containers"]);
  assert.equal(pod.spec.containers.length, 1);
  fields("Container", container, "Container", ["name", "image"]);
  assert.equal(container.image, `jitflow:${version}`, "the image is this version's");
  // jitflow gives its work in progress 30 s after SIGTERM.
  assert.ok(isInt(pod.spec.terminationGracePeriodSeconds) && pod.spec.terminationGracePeriodSeconds > 30);
});

test("the container's env: strings, or keys of Secret jitflow that secret.example.yaml has", () => {
  assert.equal(secret.metadata.name, "jitflow");
  assert.equal(secret.type, "Opaque");
  for (const [key, value] of Object.entries(secret.stringData)) assert.equal(typeof value, "string", key);
  const names = new Set<string>();
  for (const e of container.env) {
    fields(`env ${e.name}`, e, "EnvVar", ["name"]);
    assert.ok(!names.has(e.name), `${e.name} is set twice`);
    names.add(e.name);
    if (e.valueFrom === undefined) {
      // Kubernetes refuses a number or a boolean here: PORT must be "8080", not 8080.
      assert.equal(typeof e.value, "string", `${e.name}'s value is a string`);
      continue;
    }
    fields(`env ${e.name}.valueFrom`, e.valueFrom, "EnvVarSource");
    const ref = e.valueFrom.secretKeyRef;
    assert.ok(ref, `${e.name} comes from a Secret`);
    fields(`env ${e.name} secretKeyRef`, ref, "SecretKeySelector", ["name", "key"]);
    assert.equal(ref.name, secret.metadata.name, `${e.name}: Secret ${ref.name} is the example's`);
    assert.ok(Object.hasOwn(secret.stringData, ref.key), `secret.example.yaml has no ${ref.key}`);
  }
  for (const name of ["HOST", "PORT", "JITFLOW_CONFIG", "JITFLOW_DATABASE_URL"])
    assert.ok(names.has(name), name);
  assert.equal(envValue("HOST"), "0.0.0.0", "listening beyond the pod's loopback");
  assert.equal(envValue("PORT"), String(containerPort("http")));
});

const envValue = (name: string) => container.env.find((e: Json) => e.name === name)?.value;
const containerPort = (name: string): number => {
  const port = container.ports.find((p: Json) => p.name === name);
  assert.ok(port, `no container port named ${name}`);
  return port.containerPort;
};

test("container ports are named, and probes reach /healthz and /readyz on one of them", () => {
  for (const p of container.ports) {
    fields(`port ${p.name}`, p, "ContainerPort", ["containerPort"]);
    assert.match(p.name, portName);
    assert.ok(p.name.length <= 15 && isInt(p.containerPort, 1, 65535), p.name);
  }
  assert.equal(containerPort("http"), 8080);
  assert.equal(containerPort("metrics"), 9090);
  const paths = { startupProbe: "/healthz", livenessProbe: "/healthz", readinessProbe: "/readyz" };
  for (const [probe, path] of Object.entries(paths)) {
    const p = container[probe];
    fields(probe, p, "Probe", ["httpGet"]);
    fields(`${probe}.httpGet`, p.httpGet, "HTTPGetAction", ["port"]);
    assert.equal(p.httpGet.path, path, probe);
    const port = p.httpGet.port;
    assert.ok(
      container.ports.some((c: Json) => c.name === port || c.containerPort === port),
      `${probe}: port ${port}`,
    );
    for (const n of ["failureThreshold", "periodSeconds", "timeoutSeconds", "initialDelaySeconds"])
      assert.ok(p[n] === undefined || isInt(p[n], 1), `${probe}.${n}`);
  }
});

test("the Service and the PodDisruptionBudget select the pods; the Service's ports name container ports", () => {
  const svc = one("Service");
  fields("Service.spec", svc.spec, "ServiceSpec", ["selector", "ports"]);
  assert.equal(svc.spec.type, "ClusterIP");
  for (const [key, value] of Object.entries(svc.spec.selector))
    assert.equal(pod.metadata.labels[key], value, `the Service selects ${key}=${value}`);
  for (const p of svc.spec.ports) {
    fields(`Service port ${p.name}`, p, "ServicePort", ["port"]);
    assert.ok(isInt(p.port, 1, 65535));
    assert.ok(
      container.ports.some((c: Json) => c.name === p.targetPort),
      `targetPort ${p.targetPort} names no container port`,
    );
  }
  assert.deepEqual(
    svc.spec.ports.map((p: Json) => [p.name, p.port, p.targetPort]),
    [
      ["http", 80, "http"],
      ["metrics", 9090, "metrics"],
    ],
  );
  const pdb = one("PodDisruptionBudget");
  fields("PodDisruptionBudget.spec", pdb.spec, "PodDisruptionBudgetSpec", ["selector"]);
  assert.equal(pdb.spec.minAvailable, 1);
  assert.ok(pdb.spec.minAvailable < deployment.spec.replicas, "a drain can evict one replica");
  for (const [key, value] of Object.entries(pdb.spec.selector.matchLabels))
    assert.equal(pod.metadata.labels[key], value, `the PodDisruptionBudget selects ${key}=${value}`);
});

test("ConfigMap jitflow-config lands at /etc/jitflow/jitflow.config.ts, where JITFLOW_CONFIG points", () => {
  const volume = pod.spec.volumes.find((v: Json) => v.configMap !== undefined);
  assert.equal(volume?.configMap.name, configMap.metadata.name);
  assert.equal(configMap.metadata.name, "jitflow-config");
  const mount = container.volumeMounts.find((m: Json) => m.name === volume.name);
  assert.ok(mount, `volume ${volume.name} is not mounted`);
  assert.equal(mount.readOnly, true);
  // Without items every key becomes a file of its name; with items, each key's path.
  const files: string[] = volume.configMap.items
    ? volume.configMap.items.map((i: Json) => posix.join(mount.mountPath, i.path))
    : Object.keys(configMap.data).map((key) => posix.join(mount.mountPath, key));
  assert.ok(files.includes("/etc/jitflow/jitflow.config.ts"), files.join(", "));
  assert.equal(envValue("JITFLOW_CONFIG"), "/etc/jitflow/jitflow.config.ts");
  for (const [key, value] of Object.entries(configMap.data)) assert.equal(typeof value, "string", key);
});

const configSource: string = configMap.data["jitflow.config.ts"];

test("the ConfigMap's jitflow.config.ts is valid TypeScript", async () => {
  // Throws on a TypeScript syntax error; what is left must then parse as a JavaScript module.
  const js = stripTypeScriptTypes(configSource);
  const r = await run(process.execPath, ["--check", "--input-type=module"], { input: js });
  assert.equal(r.code, 0, show(r));
});

test("jitflow check accepts the ConfigMap's config with the Deployment's environment", async () => {
  // Every env("NAME") the config reads must be set by the container.
  const names = new Set(container.env.map((e: Json) => e.name));
  for (const [, name] of configSource.matchAll(/\benv\("([^"]+)"\)/g))
    assert.ok(names.has(name), `env("${name}") is not set`);
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
  for (const e of container.env) {
    const key = e.valueFrom?.secretKeyRef?.key;
    env[e.name] = key === undefined ? e.value : secret.stringData[key];
  }
  const dir = scratch("configmap-");
  writeFileSync(join(dir, "jitflow.config.ts"), configSource);
  // NODE_OPTIONS is passed on too, so node refusing one of its flags fails this test.
  const r = await run(
    process.execPath,
    [
      join(root, "bin/jitflow.js"),
      "check",
      "--config",
      join(dir, "jitflow.config.ts"),
      "--database",
      `sqlite:${join(dir, "absent.db")}`,
    ],
    { env, cwd: dir },
  );
  assert.equal(r.code, 0, show(r));
  // Metrics go where the container's and the Service's `metrics` port expects them.
  assert.equal(Number(/metricsPort:\s*(\d+)/.exec(configSource)?.[1]), containerPort("metrics"));
});

test("resources: requests within limits", () => {
  const { requests, limits } = container.resources;
  for (const [name, request] of Object.entries(requests)) {
    if (limits[name] === undefined) continue;
    assert.ok(
      quantity(request as string) <= quantity(limits[name]),
      `${name}: request ${request} > limit ${limits[name]}`,
    );
  }
  assert.deepEqual(requests, { memory: "256Mi", cpu: "250m" });
  assert.deepEqual(limits, { memory: "512Mi" });
});

/** A Kubernetes quantity ("256Mi", "250m", "1.5", "2G") as a number. */
function quantity(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(q);
  assert.ok(m, `not a quantity: ${q}`);
  const factor: Record<string, number> = {
    "": 1,
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
  };
  return Number(m[1]) * (factor[m[2] ?? ""] as number);
}

test("security context: non-root uid 10001, read-only root with /tmp writable, no privileges", () => {
  const podContext = pod.spec.securityContext;
  fields("PodSecurityContext", podContext, "PodSecurityContext");
  const c = container.securityContext;
  fields("SecurityContext", c, "SecurityContext");
  // The container's own settings win over the pod's.
  const effective = (key: string) => c[key] ?? podContext[key];
  assert.equal(effective("runAsNonRoot"), true);
  assert.equal(effective("runAsUser"), 10001);
  assert.deepEqual(effective("seccompProfile"), { type: "RuntimeDefault" });
  assert.equal(c.readOnlyRootFilesystem, true);
  assert.equal(c.allowPrivilegeEscalation, false);
  assert.equal(c.privileged, undefined);
  assert.deepEqual(c.capabilities, { drop: ["ALL"] });
  const tmp = container.volumeMounts.find((m: Json) => m.mountPath === "/tmp");
  assert.ok(tmp, "/tmp is mounted");
  const volume = pod.spec.volumes.find((v: Json) => v.name === tmp.name);
  assert.ok(volume?.emptyDir !== undefined, "/tmp is an emptyDir");
  assert.notEqual(tmp.readOnly, true);
});

test("kustomization.yaml lists every manifest but the Secret example, and each exists", () => {
  const k = parse(read(join(kubernetes, "kustomization.yaml")));
  assert.equal(k.apiVersion, "kustomize.config.k8s.io/v1beta1");
  assert.equal(k.kind, "Kustomization");
  for (const r of k.resources) assert.ok(existsSync(join(kubernetes, r)), `${r} does not exist`);
  assert.deepEqual([...k.resources].sort(), manifestFiles.filter((f) => f !== "secret.example.yaml").sort());
});

// --- compose -------------------------------------------------------------------------------------------

const composeText = read(join(deploy, "compose.yaml"));
const compose = parse(composeText);
const envExamplePath = join(deploy, "jitflow.env.example");

/** KEY=VALUE lines of the env example, comments and blank lines left out. */
const envExample: Record<string, string> = Object.fromEntries(
  read(envExamplePath)
    .split("\n")
    .filter((l) => l.trim() !== "" && !l.trimStart().startsWith("#"))
    .map((l) => {
      assert.match(l, /^[A-Z_][A-Z0-9_]*=\S*$/, `not KEY=VALUE: ${l}`);
      return pair(l);
    }),
);

test("compose: jitflow waits for a healthy postgres and reads the env file the example is for", () => {
  const { jitflow, postgres } = compose.services;
  assert.deepEqual(Object.keys(compose.services).sort(), ["jitflow", "postgres"]);
  assert.equal(jitflow.image, `jitflow:${version}`);
  assert.deepEqual(jitflow.build, { context: "..", dockerfile: "Containerfile" });
  assert.deepEqual(jitflow.depends_on, { postgres: { condition: "service_healthy" } });
  assert.equal(jitflow.restart, "unless-stopped");
  assert.equal(jitflow.init, true);
  assert.ok(seconds(jitflow.stop_grace_period) > 30, "stop_grace_period must exceed jitflow's 30 s");
  assert.equal(postgres.image, "postgres:16");
  assert.ok(postgres.healthcheck.test.includes("pg_isready"));
  const [volume, path] = postgres.volumes[0].split(":");
  assert.equal(path, "/var/lib/postgresql/data");
  assert.ok(Object.hasOwn(compose.volumes, volume), `${volume} is a named volume`);
  for (const name of ["jitflow", "postgres"]) {
    assert.equal(compose.services[name].env_file, "jitflow.env", name);
    assert.ok(existsSync(join(deploy, `${compose.services[name].env_file}.example`)));
  }
});

test("compose: the config and flows are mounted read-only under /etc/jitflow, where JITFLOW_CONFIG points", () => {
  const { jitflow } = compose.services;
  const mounts = jitflow.volumes.map((v: string) => v.split(":"));
  for (const [source, target, mode] of mounts) {
    assert.match(source, /^\.\//, `${source} is beside compose.yaml`);
    assert.match(target, /^\/etc\/jitflow\//);
    assert.equal(mode, "ro", target);
  }
  const targets = mounts.map((m: string[]) => m[1]);
  assert.ok(targets.includes("/etc/jitflow/flows"));
  assert.ok(targets.includes(jitflow.environment.JITFLOW_CONFIG), "JITFLOW_CONFIG is a mounted file");
  assert.equal(jitflow.environment.JITFLOW_CONFIG, "/etc/jitflow/jitflow.config.ts");
  assert.equal(jitflow.environment.HOST, "0.0.0.0");
  // Published on the host's loopback only: the TLS proxy in front is what others reach.
  assert.deepEqual(jitflow.ports, [`127.0.0.1:8080:${jitflow.environment.PORT}`]);
});

test("compose: nothing is interpolated, and the env example's database URL matches postgres's settings", () => {
  // An env_file reaches the containers only, never compose.yaml's ${…}: a ${VAR} here would be blank
  // unless set in the shell, so values come from jitflow.env ($$ is a literal $).
  const interpolated = strings(compose).flatMap((s) =>
    [...s.matchAll(/(?<!\$)\$(\{[^}]*\}|[A-Za-z_]\w*)/g)].map((m) => m[0]),
  );
  assert.deepEqual(interpolated, []);
  for (const name of [
    "POSTGRES_USER",
    "POSTGRES_DB",
    "POSTGRES_PASSWORD",
    "JITFLOW_DATABASE_URL",
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "OIDC_ISSUER",
    "OIDC_CLIENT_ID",
    "OIDC_CLIENT_SECRET",
  ])
    assert.ok(envExample[name], `jitflow.env.example sets ${name}`);
  const url = new URL(envExample.JITFLOW_DATABASE_URL as string);
  assert.equal(url.protocol, "postgres:");
  assert.equal(url.hostname, "postgres", "the host is the compose service");
  assert.equal(url.port, "5432");
  assert.equal(url.username, envExample.POSTGRES_USER);
  assert.equal(url.password, envExample.POSTGRES_PASSWORD);
  assert.equal(url.pathname, `/${envExample.POSTGRES_DB}`);
  // pg_isready names the same user and database (else the server logs a failed login every time).
  const check: string[] = compose.services.postgres.healthcheck.test;
  assert.equal(check[check.indexOf("-U") + 1], envExample.POSTGRES_USER);
  assert.equal(check[check.indexOf("-d") + 1], envExample.POSTGRES_DB);
});

/** Every key and string value in a parsed document: what compose interpolates. */
function strings(value: Json): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value !== null && typeof value === "object")
    return Object.entries(value).flatMap(([k, v]) => [k, ...strings(v)]);
  return [];
}

test("compose: jitflow's healthcheck exits 0 on a 200 from /readyz and 1 on a 503 or no answer", async () => {
  const [kind, command, flag, script] = compose.services.jitflow.healthcheck.test;
  assert.deepEqual([kind, command, flag], ["CMD", "node", "-e"]);
  const url = `http://127.0.0.1:${compose.services.jitflow.environment.PORT}/readyz`;
  assert.ok(script.includes(`'${url}'`), `the healthcheck fetches ${url}`);
  let status = 200;
  const paths: string[] = [];
  const server = createServer((req, res) => {
    paths.push(req.url ?? "");
    res.writeHead(status).end();
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const probe = async () =>
    (await run(process.execPath, ["-e", script.replace("http://127.0.0.1:8080", origin)])).code;
  try {
    assert.equal(await probe(), 0);
    status = 503;
    assert.equal(await probe(), 1);
  } finally {
    server.close();
    await once(server, "close");
  }
  assert.equal(await probe(), 1, "nothing listening");
  assert.deepEqual(paths, ["/readyz", "/readyz"]);
});
