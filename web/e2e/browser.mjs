// Debian's Chromium driven by playwright-core (npm never downloads a browser), against the
// real cronkit binary on a free loopback port. Requests that leave loopback are refused and
// reported. Screenshots go to build/e2e-artifacts/.
import { after, before } from "node:test";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";
import { client, startServer } from "../../tests/support/harness.mjs";

const root = resolve(new URL("../..", import.meta.url).pathname);
export const artifacts = join(root, "build/e2e-artifacts");

// A form's field by its exact label.
export function field(dialog, label) {
  return dialog.getByLabel(label, { exact: true });
}

export function browserForFile(serverOptions = {}) {
  const t = { server: undefined, api: undefined, browser: undefined, page: undefined, offsite: [] };
  before(async () => {
    mkdirSync(artifacts, { recursive: true });
    t.server = await startServer(serverOptions);
    t.api = client(t.server.base);
    t.browser = await chromium.launch({
      executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
      headless: true,
      args: ["--no-sandbox"],
    });
    const context = await t.browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.route("**/*", (route) => {
      const url = new URL(route.request().url());
      if (url.hostname === "127.0.0.1") return route.continue();
      t.offsite.push(url.href);
      return route.abort();
    });
    t.page = await context.newPage();
    t.page.on("pageerror", (e) => t.offsite.push(`page error: ${e.message}`));
  });
  after(async () => {
    await t.browser?.close();
    await t.server?.stop();
  });
  return t;
}

export async function screenshot(page, name) {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

// Signs in afresh with `token` on the login page, and waits for the task list.
export async function signIn(t, token) {
  const { page } = t;
  await page.goto(`${t.server.base}/admin/scheduler/login`);
  await page.evaluate(() => sessionStorage.clear());
  await page.getByLabel("API token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Scheduled tasks" }).waitFor();
}
