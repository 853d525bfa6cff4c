// Each person's notification preference through HTTP (the default, choosing, what the server cannot
// deliver, bad values, CSRF, one person's choice leaving others alone) and on the web app's Notifications
// page in Debian's Chromium.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { getPreference, setPreference } from "../src/store/preferences.ts";
import {
  axeViolations,
  browserSkipReason,
  devSignIn,
  launchChromium,
  newPerson,
  screenshot,
  unnamedControls,
} from "./support/browser.ts";
import { FakeSlack } from "./support/fake-slack.ts";
import {
  type Client,
  importJitflow,
  patienceMs,
  startTestServer,
  type TestServer,
} from "./support/harness.ts";

const path = "/api/v1/me/preferences";
const slackEnv = ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL"];

/** The email settings of the issue; nothing listens there, and nothing here sends mail. */
const emailSection = 'email: { from: "jitflow@example.com", smtp: { host: "127.0.0.1", port: 2525 } },';

const configWith = (email: boolean) => `${importJitflow}
export default defineConfig({
  users: { admins: ["admin@example.com"], memberDomains: ["example.com"] },
  web: { auth: "dev" },
  ${email ? emailSection : ""}
});
`;

const put = (c: Client, body: unknown) =>
  c.raw(path, {
    method: "PUT",
    headers: { authorization: `Bearer ${c.token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });

interface Channels {
  slack: boolean;
  email: boolean;
}

/**
 * A server with the given channels. Slack is on when its environment variables are set at start (here
 * pointed at a fake Slack, which nothing in this file should need to call); they are cleared again on
 * close, so the next server of the file starts without them unless it asks.
 */
async function startWith(channels: Channels): Promise<{ t: TestServer; close(): Promise<void> }> {
  for (const name of slackEnv) delete process.env[name];
  const slack = channels.slack ? await FakeSlack.start() : undefined;
  const t = await startTestServer({
    config: configWith(channels.email),
    env: slack
      ? {
          SLACK_BOT_TOKEN: slack.token,
          SLACK_SIGNING_SECRET: "preferences-secret",
          SLACK_API_URL: slack.apiUrl,
        }
      : {},
  });
  return {
    t,
    async close() {
      await t.close();
      await slack?.close();
      for (const name of slackEnv) delete process.env[name];
    },
  };
}

const both = { slack: true, email: true };

describe("with Slack and email", () => {
  let t: TestServer;
  let close = async () => {};
  before(async () => {
    ({ t, close } = await startWith(both));
  });
  after(() => close());

  test("someone who never chose gets the default, both, and is told it is the default", async () => {
    const res = await t.as("alice@example.com").get(path);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, { notify: "both", default: true, channels: both });
  });

  test("each choice is stored and read back", async () => {
    const alice = t.as("alice@example.com");
    for (const notify of ["email", "slack", "both"]) {
      const saved = await put(alice, { notify });
      assert.equal(saved.status, 200, JSON.stringify(saved.body));
      assert.deepEqual(saved.body, { notify, default: false, channels: both });
      assert.deepEqual(
        (await alice.get(path)).body,
        saved.body,
        `${notify}: the same answer on the round trip`,
      );
      assert.equal(await getPreference(t.server.deps.store.db, "alice@example.com"), notify);
    }
  });

  test("an unknown value, the wrong case or no value is 400 VALIDATION_FAILED and stores nothing", async () => {
    const dave = t.as("dave@example.com");
    for (const body of [
      { notify: "pager" },
      { notify: "EMAIL" },
      { notify: null },
      {},
      { notify: ["email"] },
    ]) {
      const res = await put(dave, body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.error.code, "VALIDATION_FAILED", JSON.stringify(body));
    }
    const notJson = await dave.raw(path, {
      method: "PUT",
      headers: { authorization: `Bearer ${dave.token}`, "content-type": "application/json" },
      body: "{notify: email",
    });
    assert.equal(notJson.status, 400);
    assert.equal(notJson.body.error.code, "INVALID_JSON");
    assert.equal(await getPreference(t.server.deps.store.db, "dave@example.com"), undefined);
    assert.equal((await dave.get(path)).body.default, true);
  });

  test("one person's choice leaves everyone else's alone", async () => {
    const [bob, carol] = [t.as("bob@example.com"), t.as("carol@example.com")];
    assert.equal((await put(carol, { notify: "email" })).status, 200);
    assert.equal((await put(bob, { notify: "slack" })).status, 200);
    assert.equal((await carol.get(path)).body.notify, "email", "Carol's choice is still hers");
    assert.equal((await put(carol, { notify: "both" })).status, 200);
    assert.equal((await bob.get(path)).body.notify, "slack", "Bob's choice is still his");
    assert.deepEqual((await t.as("eve@outside.org").get(path)).body, {
      notify: "both",
      default: true,
      channels: both,
    });
    const rows = await t.server.deps.store.db
      .selectFrom("preferences")
      .select(["email", "notify"])
      .where("email", "in", ["bob@example.com", "carol@example.com", "eve@outside.org"])
      .orderBy("email")
      .execute();
    assert.deepEqual(
      rows.map((r) => [r.email, r.notify]),
      [
        ["bob@example.com", "slack"],
        ["carol@example.com", "both"],
      ],
    );
  });

  test("a bot token chooses for its own address only", async () => {
    const res = await put(t.as("bot@example.com"), { notify: "email" });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(await getPreference(t.server.deps.store.db, "bot@example.com"), "email");
  });

  test("a web session reads it with its cookie and needs its CSRF token to change it", async () => {
    const signIn = await fetch(`${t.url}/auth/dev`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "Frank@Example.com" }),
    });
    assert.equal(signIn.status, 200);
    const { csrf } = (await signIn.json()) as { csrf: string };
    const cookie = signIn.headers
      .getSetCookie()
      .map((c) => c.split(";")[0])
      .join("; ");
    const read = await fetch(`${t.url}${path}`, { headers: { cookie } });
    assert.equal(read.status, 200);
    assert.equal(((await read.json()) as { default: boolean }).default, true);

    const change = (headers: Record<string, string>) =>
      fetch(`${t.url}${path}`, {
        method: "PUT",
        headers: { cookie, "content-type": "application/json", ...headers },
        body: JSON.stringify({ notify: "email" }),
      });
    const forged = await change({});
    assert.equal(forged.status, 403);
    assert.equal(((await forged.json()) as { error: { code: string } }).error.code, "CSRF_INVALID");
    assert.equal(await getPreference(t.server.deps.store.db, "frank@example.com"), undefined);
    const real = await change({ "x-csrf-token": csrf });
    assert.equal(real.status, 200);
    assert.equal(await getPreference(t.server.deps.store.db, "frank@example.com"), "email", "lower-cased");
  });

  test("without a token or session it is 401", async () => {
    const res = await fetch(`${t.url}${path}`);
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, "UNAUTHENTICATED");
  });
});

describe("with one channel, or none", () => {
  const cases = [
    { channels: { slack: true, email: false }, only: "slack", lacking: ["email", "both"], missing: "email" },
    { channels: { slack: false, email: true }, only: "email", lacking: ["slack", "both"], missing: "slack" },
  ] as const;
  for (const { channels, only, lacking, missing } of cases) {
    test(`${only} only: the default is ${only}, and ${lacking.join(" and ")} are CHANNEL_NOT_CONFIGURED`, async () => {
      const { t, close } = await startWith(channels);
      try {
        const alice = t.as("alice@example.com");
        assert.deepEqual((await alice.get(path)).body, { notify: only, default: true, channels });
        for (const notify of lacking) {
          const refused = await put(alice, { notify });
          assert.equal(refused.status, 400, notify);
          assert.equal(refused.body.error.code, "CHANNEL_NOT_CONFIGURED", notify);
          assert.equal(
            refused.body.error.message,
            `${missing} is not configured on this server (configured: ${only})`,
          );
          assert.deepEqual(refused.body.error.details, { channels });
        }
        assert.equal(await getPreference(t.server.deps.store.db, "alice@example.com"), undefined);
        const saved = await put(alice, { notify: only });
        assert.deepEqual(saved.body, { notify: only, default: false, channels });

        // A choice made while the other channel was set up is still the person's, and still answered.
        await setPreference(t.server.deps.store.db, "carol@example.com", missing, Date.now());
        assert.deepEqual((await t.as("carol@example.com").get(path)).body, {
          notify: missing,
          default: false,
          channels,
        });
      } finally {
        await close();
      }
    });
  }

  test("no channel: the default is still Slack, and nothing can be chosen", async () => {
    const { t, close } = await startWith({ slack: false, email: false });
    try {
      const alice = t.as("alice@example.com");
      assert.deepEqual((await alice.get(path)).body, {
        notify: "slack",
        default: true,
        channels: { slack: false, email: false },
      });
      for (const notify of ["slack", "email", "both"]) {
        const res = await put(alice, { notify });
        assert.equal(res.status, 400, notify);
        assert.equal(res.body.error.code, "CHANNEL_NOT_CONFIGURED", notify);
        assert.match(res.body.error.message, /\(configured: none\)$/);
      }
      assert.equal(await getPreference(t.server.deps.store.db, "alice@example.com"), undefined);
    } finally {
      await close();
    }
  });
});

const skip = browserSkipReason();
if (skip) console.log(`# skipping the browser tests: ${skip}`);

describe("the Notifications page", { skip }, () => {
  const timeout = patienceMs;
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });

  const loaded = async (page: Page) => {
    await page.getByRole("heading", { level: 1, name: "Notifications", exact: true }).waitFor({ timeout });
    await page.locator(".loading").waitFor({ state: "detached", timeout });
  };
  const radio = (page: Page, name: string) =>
    page
      .getByRole("radiogroup", { name: "Tell me about requests" })
      .getByRole("radio", { name, exact: true });

  test("Alice picks Email and saves it; after a reload Email is still chosen, and the server has it", async () => {
    const { t, close } = await startWith(both);
    const { context, page, problems } = await newPerson(browser);
    try {
      await devSignIn(page, t.url, "alice@example.com");
      await page
        .getByRole("navigation", { name: "Main" })
        .getByRole("link", { name: "Notifications" })
        .click();
      await loaded(page);
      assert.equal(new URL(page.url()).pathname, "/settings");
      assert.ok(await radio(page, "Both").isChecked(), "the default is chosen");
      await page
        .getByText("You have not chosen yet, so jitflow tells you in Slack and by email")
        .waitFor({ timeout });
      for (const name of ["Slack", "Email", "Both"]) assert.ok(await radio(page, name).isEnabled(), name);

      // The network fails on the first save: the page says so, and nothing was stored.
      await radio(page, "Email").check();
      await page.route(`**${path}`, (route) =>
        route.request().method() === "PUT" ? route.abort("connectionrefused") : route.fallback(),
      );
      await page.getByRole("button", { name: "Save" }).click();
      await page
        .getByRole("alert")
        .filter({ hasText: "Could not reach the jitflow server" })
        .waitFor({ timeout });
      assert.equal(await getPreference(t.server.deps.store.db, "alice@example.com"), undefined);
      await page.unroute(`**${path}`);

      await page.getByRole("button", { name: "Save" }).click();
      await page
        .getByRole("status")
        .filter({ hasText: "Saved. jitflow will tell you about requests by email." })
        .waitFor({ timeout });
      assert.equal(await page.getByRole("alert").count(), 0, "the earlier failure is gone");
      await screenshot(page, "settings-saved");

      await page.reload();
      await loaded(page);
      assert.ok(await radio(page, "Email").isChecked(), "still chosen after a reload");
      assert.ok(!(await radio(page, "Both").isChecked()));
      assert.equal(await page.getByText("You have not chosen yet").count(), 0, "a choice, not the default");
      const stored = await t.as("alice@example.com").get(path);
      assert.deepEqual(stored.body, { notify: "email", default: false, channels: both });
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
      await close();
    }
  });

  test("with Slack only, Email and Both cannot be picked, and the page says why", async () => {
    const { t, close } = await startWith({ slack: true, email: false });
    const { context, page, problems } = await newPerson(browser);
    try {
      await devSignIn(page, t.url, "bob@example.com", "/settings");
      await loaded(page);
      assert.ok(await radio(page, "Slack").isChecked(), "the default is chosen");
      assert.ok(await radio(page, "Slack").isEnabled());
      for (const name of ["Email", "Both"]) {
        const input = radio(page, name);
        assert.ok(await input.isDisabled(), `${name} is disabled`);
        const hint = await page
          .locator(`[id="${await input.getAttribute("aria-describedby")}"]`)
          .textContent();
        assert.match(hint ?? "", /^Not available: this server has no email set up\./, `${name} says why`);
      }
      assert.deepEqual(await axeViolations(page), []);
      assert.deepEqual(await unnamedControls(page), []);
      await screenshot(page, "settings-slack-only");
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
      await close();
    }
  });
});
