// The task list in a real browser: live statistics and rows, run, pause and resume,
// delete; nothing fetched from outside loopback; the first load's size.
import { test } from "node:test";
import assert from "node:assert/strict";
import { browserForFile, screenshot } from "./browser.mjs";

const t = browserForFile();

const nightly = {
  name: "nightly cleanup",
  cronExpression: "0 0 3 * * *",
  timezone: "Europe/Berlin",
  type: "function",
  functionName: "cleanup-logs",
};

test("the task list loads small, then follows the server live", async (tc) => {
  const { page } = t;
  const sizes = []; // bytes on the wire (gzipped) of each script and style
  const measure = (req) => {
    if (/\.(js|css)$/.test(new URL(req.url()).pathname)) {
      sizes.push(req.sizes().then((s) => s.responseBodySize));
    }
  };
  page.on("requestfinished", measure);
  await page.goto(`${t.server.base}/`);
  await page.getByRole("heading", { name: "Scheduled tasks" }).waitFor();
  await page.getByText("No tasks").waitFor();
  page.off("requestfinished", measure); // (the event stream never idles: what rendered has arrived)
  const bytes = (await Promise.all(sizes)).reduce((a, b) => a + b, 0);
  assert.ok(bytes > 0 && bytes <= 300 * 1024, `first load: ${bytes} bytes of JS and CSS`);
  tc.diagnostic(`first load: ${bytes} bytes of gzipped JS and CSS`);
  await screenshot(page, "tasks-empty");

  // Created elsewhere: the row and the counts appear without a reload.
  const created = (await t.api("POST", "/api/scheduler/tasks", nightly)).json.data;
  const row = page.getByRole("row", { name: /nightly cleanup/ });
  await row.waitFor();
  await row.getByText("At 03:00").waitFor();
  await row.getByText("never run").waitFor();
  await page.locator('[data-stat="Tasks"]', { hasText: "1" }).waitFor();

  // Run now: a toast names the execution, and the last result arrives live.
  await row.getByRole("button", { name: "Run nightly cleanup now" }).click();
  await page.getByText("nightly cleanup queued").first().waitFor();
  await row.getByText("success").waitFor();
  await page.locator('[data-stat="Runs, last 24 h"]', { hasText: "1" }).waitFor();
  await screenshot(page, "tasks-after-run");

  await row.getByRole("button", { name: "Pause" }).click();
  await row.getByText("Paused").waitFor();
  assert.equal((await t.api("GET", `/api/scheduler/tasks/${created.id}`)).json.data.task.enabled, false);
  await row.getByRole("button", { name: "Resume" }).click();
  await row.getByText("Active").waitFor();

  // Search by name, server-side.
  await t.api("POST", "/api/scheduler/tasks", { ...nightly, name: "weekly digest" });
  await page.getByRole("row", { name: /weekly digest/ }).waitFor();
  await page.getByLabel("Search by name").fill("DIGEST");
  await page.getByRole("row", { name: /nightly cleanup/ }).waitFor({ state: "detached" });
  await page.getByRole("row", { name: /weekly digest/ }).waitFor();
  await page.getByLabel("Search by name").fill("");
  await row.waitFor();
  const digest = (await t.api("GET", "/api/scheduler/tasks?name=digest")).json.data.list[0];
  await t.api("DELETE", `/api/scheduler/tasks/${digest.id}`);

  await row.getByRole("button", { name: "Delete nightly cleanup" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByText("cannot be undone").waitFor();
  await screenshot(page, "tasks-delete-confirmation");
  await dialog.getByRole("button", { name: "Delete" }).click();
  await page.getByText("No tasks").waitFor();
  assert.equal((await t.api("GET", `/api/scheduler/tasks/${created.id}`)).status, 404);

  assert.deepEqual(t.offsite, [], "nothing leaves loopback, no page errors");
});

test("readable at 375 px and in dark mode", async () => {
  const { page } = t;
  await t.api("POST", "/api/scheduler/tasks", nightly);
  await page.setViewportSize({ width: 375, height: 800 });
  await page.emulateMedia({ colorScheme: "dark" });
  await page.goto(`${t.server.base}/admin/scheduler/`);
  await page.getByRole("row", { name: /nightly cleanup/ }).waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
  assert.ok(await page.evaluate(() => document.documentElement.classList.contains("dark")));
  await screenshot(page, "tasks-375px-dark");
  const fits = async (name) => {
    const over = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(over <= 0, `${name} is ${over}px wider than the screen`);
    await screenshot(page, `${name}-375px-dark`);
  };
  await page.getByRole("button", { name: "New task" }).click();
  await page.getByRole("dialog").getByRole("heading", { name: "New task" }).waitFor();
  await fits("form");
  await page.keyboard.press("Escape");
  await page.getByRole("link", { name: "nightly cleanup" }).click();
  await page.getByRole("heading", { name: "Configuration" }).waitFor();
  await fits("task-detail");
  await page.getByRole("link", { name: "Executions", exact: true }).click();
  await page.getByRole("heading", { name: "Executions", level: 1 }).waitFor();
  await fits("executions");
  assert.deepEqual(t.offsite, []);
});

// Presses Tab until the focused element's accessible text matches, as a keyboard user would.
async function tabTo(page, pattern, limit = 60) {
  for (let i = 0; i < limit; ++i) {
    await page.keyboard.press("Tab");
    const label = await page.evaluate(() => {
      const el = document.activeElement;
      return `${el?.getAttribute("aria-label") ?? ""} ${el?.textContent ?? ""}`.trim();
    });
    if (pattern.test(label)) return;
  }
  throw new Error(`no focusable element matches ${pattern} within ${limit} tabs`);
}

test("with the keyboard alone; filters; the toast leads to the execution", async () => {
  const { page } = t;
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.emulateMedia({ colorScheme: "light" });
  await t.api("POST", "/api/scheduler/tasks", { ...nightly, name: "keyboard task" });
  await t.api("POST", "/api/scheduler/tasks", {
    name: "ping endpoint",
    cronExpression: "0 */5 * * * *",
    type: "http",
    httpUrl: "http://127.0.0.1:9/",
    enabled: false,
  });
  await page.goto(`${t.server.base}/admin/scheduler/`);
  await page.getByRole("row", { name: /ping endpoint/ }).waitFor();

  // The form opens and closes from the keyboard, and focus comes back.
  await tabTo(page, /New task/);
  await page.keyboard.press("Enter");
  const dialog = page.getByRole("dialog");
  await dialog.getByRole("heading", { name: "New task" }).waitFor();
  assert.ok(await dialog.evaluate((d) => d.contains(document.activeElement)), "focus is in the dialog");
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "detached" });
  assert.match(await page.evaluate(() => document.activeElement?.textContent ?? ""), /New task/);

  // Run from the keyboard; the toast's link opens the task with that execution shown.
  await tabTo(page, /Run keyboard task now/);
  await page.keyboard.press("Enter");
  const toast = page.getByRole("listitem").filter({ hasText: "keyboard task queued" });
  await toast.waitFor();
  const executionId = /Execution ([0-9a-f-]{36})/.exec(await toast.textContent())[1];
  await toast.getByRole("link", { name: "Open" }).click();
  await page.getByRole("heading", { name: "keyboard task" }).waitFor();
  await page.getByText(executionId, { exact: true }).waitFor();
  await screenshot(page, "task-detail-execution-opened");

  // Filters, server-side.
  await page.goto(`${t.server.base}/admin/scheduler/`);
  await page.getByRole("combobox", { name: "Type" }).click();
  await page.getByRole("option", { name: "HTTP" }).click();
  await page.getByRole("row", { name: /keyboard task/ }).waitFor({ state: "detached" });
  await page.getByRole("row", { name: /ping endpoint/ }).waitFor();
  await page.getByRole("combobox", { name: "Status" }).click();
  await page.getByRole("option", { name: "Enabled" }).click();
  await page.getByText("No task matches these filters.").waitFor();
  assert.deepEqual(t.offsite, []);
});

test("tags: chips in the list filter it, the tag filter takes several, the form edits them", async () => {
  const { page } = t;
  await page.setViewportSize({ width: 1280, height: 900 });
  const make = async (name, tags) =>
    (await t.api("POST", "/api/scheduler/tasks", { ...nightly, name, tags })).json.data;
  await make("payments sync", ["team:payments", "env:prod"]);
  await make("payments audit", ["team:payments"]);
  const ops = await make("ops rotate", ["team:ops", "env:prod"]);
  await page.goto(`${t.server.base}/admin/scheduler/`);
  const row = (name) => page.getByRole("row", { name: new RegExp(name) });
  await row("ops rotate").waitFor();

  // A chip adds its tag to the filter; the server narrows the list.
  await row("payments sync").getByRole("button", { name: "team:payments" }).click();
  await row("ops rotate").waitFor({ state: "detached" });
  await row("payments audit").waitFor();
  await row("payments sync").waitFor();
  // A second tag: tasks carrying both.
  const filter = page.getByLabel("Filter by tag");
  await filter.fill("env:prod");
  await filter.press("Enter");
  await row("payments audit").waitFor({ state: "detached" });
  await row("payments sync").waitFor();
  await screenshot(page, "tasks-tag-filter");
  await filter.press("Backspace"); // selects the last tag
  await filter.press("Backspace"); // removes it
  await row("payments audit").waitFor();

  // The form shows the tags, removes one and adds one.
  await page.goto(`${t.server.base}/admin/scheduler/`);
  await row("ops rotate").getByRole("button", { name: "Edit ops rotate" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByText("team:ops").waitFor();
  const tags = dialog.getByLabel("Tags", { exact: true });
  await tags.fill("bad@tag");
  await tags.press("Enter");
  await dialog.getByText('"bad@tag" is not a tag', { exact: false }).waitFor();
  await tags.press("Backspace");
  await tags.press("Backspace");
  await dialog.getByText('"bad@tag" is not a tag', { exact: false }).waitFor({ state: "detached" });
  await tags.fill("tier:1");
  await tags.press("Enter");
  await dialog.getByRole("button", { name: "Save" }).click();
  await dialog.waitFor({ state: "detached" });
  const saved = (await t.api("GET", `/api/scheduler/tasks/${ops.id}`)).json.data.task;
  assert.deepEqual(saved.tags, ["team:ops", "env:prod", "tier:1"]);
  assert.deepEqual(t.offsite, []);
});
