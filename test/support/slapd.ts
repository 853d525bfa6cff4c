// A real OpenLDAP slapd for the LDAP tests: a fresh directory, seeded, on a free port, stopped and started on demand.

import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { Client } from "ldapts";

export const baseDn = "dc=example,dc=com";

/** Seeded people, by uid: each has mail <uid>@example.com unless named here. */
export const seededPeople = ["alice", "bob", "carol", "dave", "erin"] as const;
/** A person whose mail holds LDAP filter metacharacters. */
export const oddMail = "o(brien)*@example.com";

export const groups = {
  /** groupOfNames with only the empty placeholder member. */
  names: `cn=ops,ou=groups,${baseDn}`,
  /** groupOfUniqueNames with only the empty placeholder uniqueMember. */
  uniqueNames: `cn=dev,ou=groups,${baseDn}`,
  /** groupOfNames whose one member is carol, without a placeholder. */
  solo: `cn=solo,ou=groups,${baseDn}`,
  /** groupOfNames outside ou=groups: the service account may not change it. */
  privileged: `cn=admins,ou=privileged,${baseDn}`,
};

export interface Slapd {
  url: string;
  baseDn: string;
  adminDn: string;
  adminPassword: string;
  /** The least-privilege account jitflow binds as (see the ACL in slapd.conf). */
  serviceDn: string;
  servicePassword: string;
  /** Stops slapd (the port refuses connections); the data stays. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data, once it answers binds. */
  start(): Promise<void>;
  /** Stops slapd and removes its directory. */
  close(): Promise<void>;
}

function findBinary(name: string): string | undefined {
  const dirs = [
    ...(process.env.PATH ?? "").split(delimiter),
    "/usr/sbin",
    "/usr/local/sbin",
    "/usr/local/libexec",
  ];
  return dirs.map((dir) => join(dir, name)).find((path) => path !== name && existsSync(path));
}

/**
 * Why the LDAP tests cannot run, or undefined when they can. With CI=true a missing slapd throws
 * instead, so CI never passes by skipping.
 */
export function slapdSkipReason(): string | undefined {
  if (findBinary("slapd") && findBinary("slapadd") && existsSync("/etc/ldap/schema/core.schema"))
    return undefined;
  const message = "OpenLDAP slapd is not installed; install it with: apt-get install -y slapd ldap-utils";
  if (process.env.CI === "true") throw new Error(message);
  return message;
}

/** An {SSHA} userPassword value, as slappasswd makes it. */
export function sshaHash(password: string): string {
  const salt = randomBytes(8);
  const digest = createHash("sha1").update(password).update(salt).digest();
  return `{SSHA}${Buffer.concat([digest, salt]).toString("base64")}`;
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, "close");
  return port;
}

function slapdConf(dir: string, adminDn: string, adminPassword: string, serviceDn: string): string {
  const modules = existsSync("/usr/lib/ldap/back_mdb.so")
    ? "modulepath /usr/lib/ldap\nmoduleload back_mdb\n"
    : "";
  return `${["core", "cosine", "inetorgperson", "nis"].map((s) => `include /etc/ldap/schema/${s}.schema`).join("\n")}
pidfile ${join(dir, "slapd.pid")}
argsfile ${join(dir, "slapd.args")}
${modules}
database mdb
maxsize 16777216
suffix "${baseDn}"
rootdn "${adminDn}"
rootpw ${sshaHash(adminPassword)}
directory ${join(dir, "data")}

# The service account: change member/uniqueMember of groups under ou=groups, read those groups
# and find people by mail; nothing else. The same rules as docs/targets.md (ldap_group).
access to attrs=userPassword
  by anonymous auth
  by * none
access to dn.subtree="ou=groups,${baseDn}" attrs=member,uniqueMember
  by dn.exact="${serviceDn}" write
  by * break
access to dn.subtree="ou=groups,${baseDn}" attrs=entry,objectClass
  by dn.exact="${serviceDn}" read
  by * break
access to dn.subtree="ou=people,${baseDn}" attrs=entry,objectClass,mail
  by dn.exact="${serviceDn}" read
  by * break
access to * by * none
`;
}

function seedLdif(serviceDn: string, servicePassword: string): string {
  const entry = (dn: string, ...lines: string[]) => `dn: ${dn}\n${lines.join("\n")}\n`;
  const person = (uid: string) =>
    entry(
      `uid=${uid},ou=people,${baseDn}`,
      "objectClass: inetOrgPerson",
      `uid: ${uid}`,
      `cn: ${uid}`,
      `sn: ${uid}`,
      `mail: ${uid}@example.com`,
    );
  return [
    entry(baseDn, "objectClass: dcObject", "objectClass: organization", "dc: example", "o: Example"),
    ...["people", "groups", "services", "privileged"].map((ou) =>
      entry(`ou=${ou},${baseDn}`, "objectClass: organizationalUnit", `ou: ${ou}`),
    ),
    ...seededPeople.map(person),
    entry(
      `uid=obrien,ou=people,${baseDn}`,
      "objectClass: inetOrgPerson",
      "uid: obrien",
      "cn: obrien",
      "sn: obrien",
      `mail: ${oddMail}`,
    ),
    // Two entries with one mail: a filter that finds both is refused.
    ...["twin1", "twin2"].map((uid) =>
      entry(
        `uid=${uid},ou=people,${baseDn}`,
        "objectClass: inetOrgPerson",
        `uid: ${uid}`,
        `cn: ${uid}`,
        `sn: ${uid}`,
        "mail: twin@example.com",
      ),
    ),
    entry(
      serviceDn,
      "objectClass: applicationProcess",
      "objectClass: simpleSecurityObject",
      "cn: jitflow",
      `userPassword: ${sshaHash(servicePassword)}`,
    ),
    entry(groups.names, "objectClass: groupOfNames", "cn: ops", "member:"),
    entry(groups.uniqueNames, "objectClass: groupOfUniqueNames", "cn: dev", "uniqueMember:"),
    entry(groups.solo, "objectClass: groupOfNames", "cn: solo", `member: uid=carol,ou=people,${baseDn}`),
    entry(groups.privileged, "objectClass: groupOfNames", "cn: admins", "member:"),
  ].join("\n");
}

/** Starts a seeded slapd on a free port of 127.0.0.1 and waits until it answers binds. */
export async function startSlapd(): Promise<Slapd> {
  const skip = slapdSkipReason();
  if (skip) throw new Error(skip);
  const slapd = findBinary("slapd") as string;
  const slapadd = findBinary("slapadd") as string;
  const dir = mkdtempSync(join(tmpdir(), "jitflow-slapd-"));
  mkdirSync(join(dir, "data"));
  const adminDn = `cn=admin,${baseDn}`;
  const adminPassword = randomBytes(12).toString("hex");
  const serviceDn = `cn=jitflow,ou=services,${baseDn}`;
  const servicePassword = randomBytes(12).toString("hex");
  const conf = join(dir, "slapd.conf");
  writeFileSync(conf, slapdConf(dir, adminDn, adminPassword, serviceDn));
  writeFileSync(join(dir, "seed.ldif"), seedLdif(serviceDn, servicePassword));
  try {
    execFileSync(slapadd, ["-q", "-f", conf, "-l", join(dir, "seed.ldif")], { stdio: "pipe" });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`slapadd failed: ${(err as { stderr?: Buffer }).stderr?.toString() ?? err}`);
  }
  let child: ChildProcess | undefined;
  // If the test process dies without calling close(), slapd must not outlive it.
  const killOnExit = () => {
    child?.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", killOnExit);
  const port = await freePort();
  const url = `ldap://127.0.0.1:${port}`;

  async function stop(): Promise<void> {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = once(running, "exit");
    running.kill("SIGTERM");
    const timer = setTimeout(() => running.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }

  async function start(): Promise<void> {
    if (child) return;
    let output = "";
    // -d keeps slapd in the foreground as our child, so stopping it is killing it.
    const started = spawn(slapd, ["-d", "0", "-f", conf, "-h", `${url}/`], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = started;
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
    };
    started.stdout?.on("data", collect);
    started.stderr?.on("data", collect);
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (started.exitCode !== null || started.signalCode !== null) {
        child = undefined;
        throw new Error(`slapd exited (${started.exitCode ?? started.signalCode}): ${output}`);
      }
      const client = new Client({ url, connectTimeout: 1000, timeout: 1000 });
      try {
        await client.bind(adminDn, adminPassword);
        return;
      } catch (err) {
        if (Date.now() > deadline) {
          await stop();
          throw new Error(`slapd did not answer on ${url}: ${(err as Error).message}\n${output}`);
        }
      } finally {
        await client.unbind().catch(() => {});
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  try {
    await start();
  } catch (err) {
    process.removeListener("exit", killOnExit);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  return {
    url,
    baseDn,
    adminDn,
    adminPassword,
    serviceDn,
    servicePassword,
    stop,
    start,
    async close() {
      await stop();
      process.removeListener("exit", killOnExit);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs fn with an ldapts client bound as the directory's admin (not the account under test). */
export async function asAdmin<T>(s: Slapd, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ url: s.url, timeout: 5000, connectTimeout: 5000 });
  try {
    await client.bind(s.adminDn, s.adminPassword);
    return await fn(client);
  } finally {
    await client.unbind().catch(() => {});
  }
}

/** The values of a group's member attribute as the directory holds them, without the empty placeholder. */
export async function groupMembers(s: Slapd, groupDn: string, attribute: string): Promise<string[]> {
  return asAdmin(s, async (client) => {
    const { searchEntries } = await client.search(groupDn, { scope: "base", attributes: [attribute] });
    const entry: Record<string, unknown> = searchEntries[0] ?? {};
    const key = Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase());
    const values = key === undefined ? [] : entry[key];
    return (Array.isArray(values) ? values : [values]).map(String).filter((v) => v !== "");
  });
}
