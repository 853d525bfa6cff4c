// Signing in to the web app through HTTP: OIDC against a real oidc-provider, the dev sign-in, CSRF, logout
// and session expiry.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { FakeClock } from "../src/lib/clock.ts";
import { importJitflow, startTestServer, type TestServer } from "./support/harness.ts";
import { freePort, type OidcAccount, startOidcProvider } from "./support/oidc-provider.ts";

const clientSecret = "provider-client-secret";
const sessionTtlMs = 3600_000;

/** People the provider knows, by the login name typed into its form. */
const accounts: Record<string, OidcAccount> = {
  alice: { email: "Alice@example.com", email_verified: true, name: "Alice Liddell" },
  admin: { email: "admin@example.com", email_verified: true },
  mallory: { email: "bob@example.com", email_verified: false, name: "Not Bob" },
};

/** A real OpenID provider on 127.0.0.1 with jitflow as its one client and the built-in login form. */
const startProvider = (port: number, publicUrl: string, { emailInIdToken = false } = {}) =>
  startOidcProvider({ port, publicUrl, accounts, clientSecret, emailInIdToken });

function oidcConfig(publicUrl: string, issuer: string): string {
  return `${importJitflow}
export default defineConfig({
  users: { admins: ["admin@example.com"], memberDomains: ["example.com"] },
  web: {
    auth: "oidc",
    publicUrl: ${JSON.stringify(publicUrl)},
    sessionTtl: "1h",
    oidc: { issuer: ${JSON.stringify(issuer)}, clientId: "jitflow", clientSecret: env("TEST_OIDC_SECRET") },
  },
  flows: [{ name: "deploy", fields: [{ name: "reason", type: "text" }] }],
});
`;
}

interface StoredCookie {
  value: string;
  path: string;
}

/**
 * Just enough of a browser: redirects are followed by hand, cookies kept per host name (as browsers do,
 * whatever the port) and sent to the paths they were set for.
 */
class Browser {
  readonly jar = new Map<string, Map<string, StoredCookie>>();

  async request(url: string | URL, init: RequestInit = {}): Promise<Response> {
    const target = new URL(url);
    const headers = new Headers(init.headers);
    const cookies = [...(this.jar.get(target.hostname) ?? new Map<string, StoredCookie>())]
      .filter(
        ([, c]) => target.pathname === c.path || target.pathname.startsWith(c.path.replace(/\/?$/, "/")),
      )
      .map(([name, c]) => `${name}=${c.value}`);
    if (cookies.length) headers.set("cookie", cookies.join("; "));
    const res = await fetch(target, { ...init, headers, redirect: "manual" });
    for (const line of res.headers.getSetCookie()) this.store(target, line);
    // Read to the end, as a browser does: a connection left mid-answer keeps the server from closing.
    const body = await res.arrayBuffer();
    return new Response(body.byteLength ? body : null, { status: res.status, headers: res.headers });
  }

  setCookie(host: string, name: string, value: string, path = "/"): void {
    const cookies = this.jar.get(host) ?? new Map<string, StoredCookie>();
    cookies.set(name, { value, path });
    this.jar.set(host, cookies);
  }

  cookie(host: string, name: string): string | undefined {
    return this.jar.get(host)?.get(name)?.value;
  }

  private store(url: URL, line: string): void {
    const [pair = "", ...attributes] = line.split(";").map((part) => part.trim());
    const eq = pair.indexOf("=");
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    const attr = (key: string) =>
      attributes.find((a) => a.toLowerCase().startsWith(`${key}=`))?.slice(key.length + 1);
    const path = attr("path") ?? "/";
    const expires = attr("expires");
    const gone =
      attr("max-age") === "0" || (expires !== undefined && Date.parse(expires) <= Date.now()) || value === "";
    const cookies = this.jar.get(url.hostname) ?? new Map<string, StoredCookie>();
    if (gone) cookies.delete(name);
    else cookies.set(name, { value, path });
    this.jar.set(url.hostname, cookies);
  }
}

/** GET /auth/session's answer, or its error. */
interface SessionBody {
  email: string;
  name: string;
  role: string;
  mode: string;
  csrf: string;
  error?: { code: string };
}

const location = (res: Response, base: string): URL => new URL(res.headers.get("location") ?? "", base);

/** Signs in at the provider's form until it sends the browser back to jitflow; returns that callback URL. */
async function throughProvider(browser: Browser, loginUrl: URL, login: string): Promise<URL> {
  let url = loginUrl;
  for (let step = 0; step < 20; step++) {
    if (url.pathname === "/auth/callback" && url.port !== loginUrl.port) {
      return url;
    }
    const res = await browser.request(url);
    if (res.status >= 300 && res.status < 400) {
      url = location(res, url.href);
      continue;
    }
    const html = await res.text();
    assert.equal(
      res.status,
      200,
      `the provider answered ${res.status} at ${url.pathname}: ${html.slice(0, 300)}`,
    );
    const action = /action="([^"]+)"/.exec(html)?.[1];
    const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1];
    assert.ok(action && prompt, `no form at ${url.pathname}`);
    const form = new URLSearchParams({ prompt });
    if (prompt === "login") {
      form.set("login", login);
      form.set("password", "anything");
    }
    const posted = await browser.request(new URL(action, url), { method: "POST", body: form });
    assert.ok(posted.status >= 300 && posted.status < 400, `the ${prompt} form answered ${posted.status}`);
    url = location(posted, url.href);
  }
  throw new Error("the provider never sent the browser back");
}

describe("web sign-in with OIDC", () => {
  const clock = new FakeClock(Date.now());
  let provider: Awaited<ReturnType<typeof startProvider>>;
  let jit: TestServer;
  let publicUrl: string;

  before(async () => {
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    provider = await startProvider(await freePort(), publicUrl);
    jit = await startTestServer({
      config: oidcConfig(publicUrl, provider.issuer),
      env: { TEST_OIDC_SECRET: clientSecret },
      clock,
      port,
    });
    assert.equal(jit.url, publicUrl);
  });
  after(async () => {
    await jit?.close();
    await provider?.close();
  });

  /** Starts at /auth/login and returns jitflow's login redirect and the callback URL the provider sent back. */
  async function toCallback(browser: Browser, login: string, next = "/") {
    const start = await browser.request(`${publicUrl}/auth/login?next=${encodeURIComponent(next)}`);
    assert.equal(start.status, 302);
    const authorize = location(start, publicUrl);
    return { authorize, callback: await throughProvider(browser, authorize, login) };
  }

  async function signIn(login: string, next = "/") {
    const browser = new Browser();
    const { authorize, callback } = await toCallback(browser, login, next);
    const done = await browser.request(callback);
    return { browser, authorize, callback, done, landed: location(done, publicUrl) };
  }

  const api = (browser: Browser, path: string, init: RequestInit = {}) =>
    browser.request(`${publicUrl}${path}`, init);

  async function sessionOf(browser: Browser): Promise<{ status: number; body: SessionBody }> {
    const res = await api(browser, "/auth/session");
    return { status: res.status, body: await res.json() };
  }

  test("the code flow signs in, sets a safe cookie and lands on next", async () => {
    const { browser, authorize, done, landed } = await signIn("alice", "/requests?tab=mine");

    assert.equal(authorize.origin, provider.issuer);
    assert.equal(authorize.searchParams.get("redirect_uri"), `${publicUrl}/auth/callback`);
    assert.equal(authorize.searchParams.get("scope"), "openid email profile");
    assert.equal(authorize.searchParams.get("code_challenge_method"), "S256");
    assert.ok(authorize.searchParams.get("nonce"));

    assert.equal(done.status, 302);
    assert.equal(landed.href, `${publicUrl}/requests?tab=mine`);
    const setCookie = done.headers.getSetCookie().find((c) => c.startsWith("jitflow_session="));
    assert.ok(setCookie, "a session cookie is set");
    assert.match(setCookie, /;\s*HttpOnly/i);
    assert.match(setCookie, /;\s*SameSite=Lax/i);
    assert.doesNotMatch(setCookie, /;\s*Secure/i, "not Secure on http://127.0.0.1");

    const session = await sessionOf(browser);
    assert.equal(session.status, 200);
    assert.equal(session.body.email, "alice@example.com", "the verified email, lower-cased");
    assert.equal(session.body.name, "Alice Liddell (userinfo)", "the ID token had no email: userinfo");
    assert.equal(session.body.role, "member");
    assert.equal(session.body.mode, "oidc");
    assert.ok(typeof session.body.csrf === "string" && session.body.csrf.length >= 20);
  });

  test("the cookie works for reads; changes need the CSRF token", async () => {
    const { browser } = await signIn("alice");
    const { csrf } = (await sessionOf(browser)).body;

    const flows = await api(browser, "/api/v1/flows");
    assert.equal(flows.status, 200);
    assert.ok(JSON.stringify(await flows.json()).includes("deploy"));

    const body = JSON.stringify({ flow: "deploy", fields: { reason: "csrf check" } });
    const json = { "content-type": "application/json" };
    const forged = await api(browser, "/api/v1/requests", { method: "POST", headers: json, body });
    assert.equal(forged.status, 403);
    assert.equal((await forged.json()).error.code, "CSRF_INVALID");
    const wrong = await api(browser, "/api/v1/requests", {
      method: "POST",
      // One character changed (a token that happens to end in "x" gets a "y").
      headers: { ...json, "x-csrf-token": `${csrf.slice(0, -1)}${csrf.endsWith("x") ? "y" : "x"}` },
      body,
    });
    assert.equal(wrong.status, 403);
    const none = await api(browser, "/api/v1/requests?mine=true");
    assert.deepEqual((await none.json()).items, [], "nothing was created");

    const created = await api(browser, "/api/v1/requests", {
      method: "POST",
      headers: { ...json, "x-csrf-token": csrf },
      body,
    });
    assert.equal(created.status, 201);
    const request = await created.json();
    assert.equal(request.requester.email, "alice@example.com");
  });

  test("an email the provider has not verified signs nobody in", async () => {
    const { browser, done, landed } = await signIn("mallory");
    assert.equal(done.status, 302);
    assert.equal(landed.pathname, "/signin");
    assert.equal(landed.searchParams.get("error"), "email_unverified");
    assert.equal(browser.cookie("127.0.0.1", "jitflow_session"), undefined);
    assert.equal((await sessionOf(browser)).status, 401);
  });

  test("a used state is refused, and so is a made-up one", async () => {
    const { browser, callback, landed } = await signIn("alice");
    assert.equal(landed.pathname, "/");
    // Even with the browser's sign-in cookie put back, the state is spent.
    const state = callback.searchParams.get("state") ?? "";
    const replayer = new Browser();
    replayer.setCookie("127.0.0.1", "jitflow_signin", state, "/auth/callback");
    const replay = await replayer.request(callback);
    assert.equal(replay.status, 302);
    assert.equal(location(replay, publicUrl).pathname, "/signin");
    assert.equal(location(replay, publicUrl).searchParams.get("error"), "expired");
    assert.equal(replayer.cookie("127.0.0.1", "jitflow_session"), undefined);

    const forger = new Browser();
    forger.setCookie("127.0.0.1", "jitflow_signin", "made-up-state", "/auth/callback");
    const forged = await forger.request(`${publicUrl}/auth/callback?code=abc&state=made-up-state`);
    assert.equal(forged.status, 302);
    assert.equal(location(forged, publicUrl).searchParams.get("error"), "expired");
    assert.equal(forger.cookie("127.0.0.1", "jitflow_session"), undefined);
    assert.equal((await sessionOf(browser)).status, 200, "the real sign-in is unaffected");
  });

  test("a sign-in finished in another browser is refused and spent", async () => {
    const attacker = new Browser();
    const { callback } = await toCallback(attacker, "alice");
    const victim = new Browser();
    const res = await victim.request(callback);
    assert.equal(res.status, 302);
    assert.equal(location(res, publicUrl).searchParams.get("error"), "other_browser");
    assert.equal(victim.cookie("127.0.0.1", "jitflow_session"), undefined);

    const late = await attacker.request(callback);
    assert.equal(location(late, publicUrl).searchParams.get("error"), "expired");
  });

  test("next cannot send people to another site", async () => {
    for (const next of ["//evil.example/x", "/\\evil.example", "https://evil.example/", "/\t/evil.example"]) {
      const { landed } = await signIn("alice", next);
      assert.equal(landed.href, `${publicUrl}/`, `next=${JSON.stringify(next)}`);
    }
  });

  test("a refusal at the provider comes back to the sign-in page as a code", async () => {
    const browser = new Browser();
    const start = await browser.request(`${publicUrl}/auth/login`);
    let url = location(start, publicUrl);
    // Follow the provider to its login form, then cancel there instead of signing in.
    for (;;) {
      const res = await browser.request(url);
      if (res.status === 200) break;
      url = location(res, url.href);
    }
    assert.match(url.pathname, /^\/interaction\//);
    const aborted = await browser.request(new URL(`${url.pathname}/abort`, url));
    const callback = await throughProvider(browser, location(aborted, url.href), "alice");
    assert.equal(callback.searchParams.get("error"), "access_denied");
    const res = await browser.request(callback);
    assert.equal(res.status, 302);
    const landed = location(res, publicUrl);
    assert.equal(landed.pathname, "/signin");
    assert.equal(landed.search, "?error=provider_refused");
    assert.equal(browser.cookie("127.0.0.1", "jitflow_session"), undefined);
  });

  test("a crafted callback link sends the sign-in page a code, never its own text", async () => {
    const crafted: [query: string, code: string][] = [
      ["error=your_account_is_locked_call_the_helpdesk_on_555_0100", "provider_refused"],
      [`error=access_denied&error_description=${encodeURIComponent("Call 555 0100")}`, "provider_refused"],
      [`error=${encodeURIComponent("<img src=x onerror=alert(1)>")}&state=x`, "provider_refused"],
      [`code=abc&state=${encodeURIComponent("Your account is locked")}`, "expired"],
    ];
    for (const [query, code] of crafted) {
      const res = await new Browser().request(`${publicUrl}/auth/callback?${query}`);
      assert.equal(res.status, 302, query);
      const landed = location(res, publicUrl);
      assert.equal(landed.pathname, "/signin", query);
      assert.equal(landed.search, `?error=${code}`, query);
    }
  });

  test("a sign-in left at the provider for more than 10 minutes is refused", async () => {
    const browser = new Browser();
    const { callback } = await toCallback(browser, "alice");
    clock.advance(10 * 60_000 + 1);
    const res = await browser.request(callback);
    assert.equal(location(res, publicUrl).searchParams.get("error"), "expired");
    assert.equal(browser.cookie("127.0.0.1", "jitflow_session"), undefined);
  });

  test("logout needs the CSRF token, then the cookie no longer works", async () => {
    const { browser } = await signIn("admin");
    const { csrf, role } = (await sessionOf(browser)).body;
    assert.equal(role, "admin");

    const forged = await api(browser, "/auth/logout", { method: "POST" });
    assert.equal(forged.status, 403);
    assert.equal((await forged.json()).error.code, "CSRF_INVALID");
    assert.equal((await sessionOf(browser)).status, 200, "still signed in");

    const cookie = browser.cookie("127.0.0.1", "jitflow_session") ?? "";
    const out = await api(browser, "/auth/logout", { method: "POST", headers: { "x-csrf-token": csrf } });
    assert.equal(out.status, 204);
    assert.equal(browser.cookie("127.0.0.1", "jitflow_session"), undefined, "the cookie is cleared");

    // The old cookie, kept by someone who copied it, is dead on the server too.
    const stale = new Browser();
    stale.setCookie("127.0.0.1", "jitflow_session", cookie);
    const flows = await api(stale, "/api/v1/flows");
    assert.equal(flows.status, 401);
    assert.equal((await flows.json()).error.code, "SESSION_INVALID");
  });

  test("a session ends after sessionTtl", async () => {
    const { browser } = await signIn("alice");
    clock.advance(sessionTtlMs - 1000);
    const before = await api(browser, "/api/v1/flows");
    assert.equal(before.status, 200);
    clock.advance(1000);
    const after = await api(browser, "/api/v1/flows");
    assert.equal(after.status, 401);
    assert.equal((await after.json()).error.code, "SESSION_INVALID");
    assert.equal((await sessionOf(browser)).body.error?.code, "SESSION_INVALID");
  });

  test("the dev sign-in does not exist here", async () => {
    const config = await api(new Browser(), "/auth/config");
    assert.deepEqual(await config.json(), { mode: "oidc", insecure: false });
    const dev = await api(new Browser(), "/auth/dev", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "admin@example.com" }),
    });
    assert.equal(dev.status, 404);
    assert.equal((await dev.json()).error.code, "AUTH_MODE_UNAVAILABLE");
  });
});

describe("web sign-in while the provider is down", () => {
  let jit: TestServer;
  let publicUrl: string;
  let providerPort: number;
  let provider: Awaited<ReturnType<typeof startProvider>> | undefined;

  before(async () => {
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    providerPort = await freePort();
    jit = await startTestServer({
      config: oidcConfig(publicUrl, `http://127.0.0.1:${providerPort}`),
      env: { TEST_OIDC_SECRET: clientSecret },
      port,
    });
  });
  after(async () => {
    await jit?.close();
    await provider?.close();
  });

  test("the server starts, says so clearly, and tries the provider again on the next sign-in", async () => {
    const health = await new Browser().request(`${publicUrl}/healthz`);
    assert.equal(health.status, 200);

    const browser = new Browser();
    const down = await browser.request(`${publicUrl}/auth/login?next=/approvals`);
    assert.equal(down.status, 302);
    const landed = location(down, publicUrl);
    assert.equal(landed.pathname, "/signin");
    assert.equal(landed.searchParams.get("error"), "provider_unavailable");

    provider = await startProvider(providerPort, publicUrl);
    const up = await browser.request(`${publicUrl}/auth/login?next=/approvals`);
    assert.equal(up.status, 302);
    const authorize = location(up, publicUrl);
    assert.equal(authorize.origin, provider.issuer);
    const callback = await throughProvider(browser, authorize, "alice");

    // The provider goes away between the sign-in and the code exchange.
    await provider.close();
    provider = undefined;
    const res = await browser.request(callback);
    assert.equal(res.status, 302);
    const failed = location(res, publicUrl);
    assert.equal(failed.pathname, "/signin");
    assert.equal(failed.searchParams.get("error"), "unverifiable");
    assert.equal(browser.cookie("127.0.0.1", "jitflow_session"), undefined);
  });
});

describe("the dev sign-in", () => {
  let jit: TestServer;

  before(async () => {
    jit = await startTestServer({
      config: `${importJitflow}
export default defineConfig({
  users: { admins: ["admin@example.com"], memberDomains: ["example.com"] },
  web: { auth: "dev" },
  flows: [{ name: "deploy", fields: [{ name: "reason", type: "text" }] }],
});
`,
      host: "0.0.0.0",
    });
  });
  after(async () => {
    await jit?.close();
  });

  async function devSignIn(email: string): Promise<{ browser: Browser; csrf: string }> {
    const browser = new Browser();
    const res = await browser.request(`${jit.url}/auth/dev`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email }),
    });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.email, email);
    return { browser, csrf: body.csrf };
  }

  test("listens on 127.0.0.1 even when asked for 0.0.0.0, and says it is insecure", async () => {
    assert.match(jit.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${jit.url}/auth/config`);
    assert.deepEqual(await res.json(), { mode: "dev", insecure: true });
  });

  test("only JSON signs in: a form post is refused", async () => {
    for (const contentType of ["application/x-www-form-urlencoded", "text/plain; x=application/json"]) {
      const browser = new Browser();
      const res = await browser.request(`${jit.url}/auth/dev`, {
        method: "POST",
        headers: { "content-type": contentType },
        body: contentType.startsWith("text/")
          ? JSON.stringify({ email: "admin@example.com" })
          : "email=admin%40example.com",
      });
      assert.equal(res.status, 415, contentType);
      assert.equal((await res.json()).error.code, "UNSUPPORTED_MEDIA_TYPE");
      assert.equal(browser.cookie("127.0.0.1", "jitflow_session"), undefined);
    }
  });

  test("a member's session cannot approve; an admin's can", async () => {
    const alice = await devSignIn("alice@example.com");
    const created = await alice.browser.request(`${jit.url}/api/v1/requests`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-csrf-token": alice.csrf },
      body: JSON.stringify({ flow: "deploy", fields: { reason: "dev mode" } }),
    });
    assert.equal(created.status, 201);
    const { id } = await created.json();

    const approve = (who: { browser: Browser; csrf: string }) =>
      who.browser.request(`${jit.url}/api/v1/requests/${id}/approve`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-csrf-token": who.csrf },
        body: "{}",
      });
    // Bob is no approver of the flow: the request is not his to see, so approving it is a 404.
    const bob = await approve(await devSignIn("bob@example.com"));
    assert.equal(bob.status, 404);
    assert.equal((await bob.json()).error.code, "REQUEST_NOT_FOUND");
    const admin = await approve(await devSignIn("admin@example.com"));
    assert.equal(admin.status, 200);
    assert.notEqual((await admin.json()).state, "pending");
  });

  test("single sign-on routes do not exist in dev mode", async () => {
    for (const path of ["/auth/login?next=/", "/auth/callback?code=x&state=y"]) {
      const res = await fetch(`${jit.url}${path}`, { redirect: "manual" });
      assert.equal(res.status, 404, path);
      assert.equal((await res.json()).error.code, "AUTH_MODE_UNAVAILABLE");
    }
  });
});

describe("web sign-in when the ID token carries the email", () => {
  let jit: TestServer;
  let provider: Awaited<ReturnType<typeof startProvider>>;

  before(async () => {
    const port = await freePort();
    provider = await startProvider(await freePort(), `http://127.0.0.1:${port}`, { emailInIdToken: true });
    jit = await startTestServer({
      config: oidcConfig(`http://127.0.0.1:${port}`, provider.issuer),
      env: { TEST_OIDC_SECRET: clientSecret },
      port,
    });
  });
  after(async () => {
    await jit?.close();
    await provider?.close();
  });

  async function signIn(login: string): Promise<{ browser: Browser; landed: URL }> {
    const browser = new Browser();
    const start = await browser.request(`${jit.url}/auth/login?next=/audit`);
    const done = await browser.request(await throughProvider(browser, location(start, jit.url), login));
    return { browser, landed: location(done, jit.url) };
  }

  test("the ID token's claims are used, and its email must be verified too", async () => {
    const alice = await signIn("alice");
    assert.equal(alice.landed.pathname, "/audit");
    const res = await alice.browser.request(`${jit.url}/auth/session`);
    const session = (await res.json()) as SessionBody;
    assert.equal(session.email, "alice@example.com");
    assert.equal(session.name, "Alice Liddell (id_token)");

    const mallory = await signIn("mallory");
    assert.equal(mallory.landed.pathname, "/signin");
    assert.equal(mallory.landed.searchParams.get("error"), "email_unverified");
    assert.equal(mallory.browser.cookie("127.0.0.1", "jitflow_session"), undefined);
  });
});
