// Debian's Chromium driven by playwright-core for the web app's tests: launching it (never a downloaded
// browser), what a page's Content-Security-Policy refuses, signing in, screenshots into test-results/, and
// axe-core's accessibility checks.

import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  chromium,
  type Page,
} from "playwright-core";

export const chromiumPath = "/usr/bin/chromium";
const chromiumArgs = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

const root = fileURLToPath(new URL("../../", import.meta.url));
/** Where screenshots go; CI keeps the folder as an artifact. */
export const resultsDir = join(root, "test-results");
const axePath = join(root, "node_modules/axe-core/axe.min.js");

/**
 * Why the browser tests cannot run here, or undefined when they can. In CI a missing Chromium is not a
 * reason to skip: the tests run and fail on it.
 */
export function browserSkipReason(): string | undefined {
  if (existsSync(chromiumPath) || process.env.CI === "true") return undefined;
  return `Chromium is not installed at ${chromiumPath}: apt-get install chromium`;
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(chromiumPath))
    throw new Error(`Chromium is not installed at ${chromiumPath}: apt-get install chromium`);
  return chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
}

export const laptop = { width: 1280, height: 800 };
export const phone = { width: 390, height: 844 };

/**
 * A browser context (one person's cookies) at the given size; failures in the page fail the test, and so
 * does anything the page's Content-Security-Policy refuses.
 */
export async function newPerson(
  browser: Browser,
  options: BrowserContextOptions = {},
): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: laptop, locale: "en-GB", ...options });
  const problems: string[] = [];
  await context.exposeBinding("reportCspViolation", (_source, violation: string) => problems.push(violation));
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      // `any`: the binding is added by playwright, without types in the page.
      (window as any).reportCspViolation(
        `CSP refused ${e.blockedURI || "inline code"} (${e.violatedDirective}) on ${e.documentURI}`,
      );
    });
  });
  const page = await context.newPage();
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  return { context, page, problems };
}

/** Signs in with the dev sign-in form, starting from `path`; resolves once the page says who is signed in. */
export async function devSignIn(page: Page, baseUrl: string, email: string, path = "/"): Promise<void> {
  await page.goto(`${baseUrl}${path}`);
  await page.getByLabel("Email address").fill(email);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  // Attached, not visible: on a phone the account sits in the folded menu.
  await page.locator(".account .who", { hasText: email }).waitFor({ state: "attached" });
}

/** Saves a PNG of the page as test-results/<name>.png; returns its path. */
export async function screenshot(page: Page, name: string, fullPage = false): Promise<string> {
  mkdirSync(resultsDir, { recursive: true });
  const path = join(resultsDir, `${name}.png`);
  await page.screenshot({ path, type: "png", fullPage, animations: "disabled", caret: "hide" });
  return path;
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/** Evaluated, not added as a <script>: the page's Content-Security-Policy refuses inline scripts. */
async function injectAxe(page: Page): Promise<void> {
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(readFileSync(axePath, "utf8"));
}

/** axe-core's WCAG 2.x A/AA and best-practice rules on the page as it is now. */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  await injectAxe(page);
  return page.evaluate(async () => {
    // `any`: axe is injected as a global script, without types in the page.
    const axe = (window as any).axe;
    const result = await axe.run(document, {
      runOnly: {
        type: "tag",
        values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
      },
      resultTypes: ["violations"],
    });
    return result.violations.map(
      (v: { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.map((n) => n.target.join(" ")),
      }),
    );
  });
}

/** The form controls and buttons on the page that have no accessible name (as axe computes it). */
export async function unnamedControls(page: Page): Promise<string[]> {
  await injectAxe(page);
  return page.evaluate(() => {
    // `any`: axe is injected as a global script, without types in the page.
    const axe = (window as any).axe;
    axe.setup(document);
    try {
      const controls = document.querySelectorAll<HTMLElement>(
        "input:not([type=hidden]), select, textarea, button, [role=combobox], a[href]",
      );
      return [...controls]
        .filter((el) => el.getClientRects().length > 0)
        .filter((el) => axe.commons.text.accessibleTextVirtual(axe.utils.getNodeFromTree(el)).trim() === "")
        .map((el) => el.outerHTML.slice(0, 120));
    } finally {
      axe.teardown();
    }
  });
}

/** How many CSS pixels the page is wider than the window (0 when nothing sticks out sideways). */
export function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate(() => Math.max(0, document.documentElement.scrollWidth - window.innerWidth));
}

/**
 * Presses Tab until the focused element matches `isTarget` (at most `maxTabs` times); returns what was
 * focused on the way, each with whether its focus could be seen (an outline or a box shadow).
 */
export async function tabTo(
  page: Page,
  isTarget: (el: { text: string; role: string | null; tag: string }) => boolean,
  maxTabs = 40,
): Promise<{ reached: boolean; stops: { text: string; visible: boolean }[] }> {
  const stops: { text: string; visible: boolean }[] = [];
  for (let i = 0; i < maxTabs; i++) {
    await page.keyboard.press("Tab");
    const focused = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      if (!el || el === document.body) return null;
      const style = getComputedStyle(el);
      const outline = style.outlineStyle !== "none" && Number.parseFloat(style.outlineWidth) > 0;
      const shadow = style.boxShadow !== "none";
      return {
        text: (el.getAttribute("aria-label") ?? el.textContent ?? "").trim().slice(0, 60),
        role: el.getAttribute("role"),
        tag: el.tagName.toLowerCase(),
        visible: el.matches(":focus-visible") && (outline || shadow),
      };
    });
    if (!focused) continue;
    stops.push({ text: focused.text, visible: focused.visible });
    if (isTarget(focused)) return { reached: true, stops };
  }
  return { reached: false, stops };
}
