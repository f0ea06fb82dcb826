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

test("the task list loads small, then follows the server live", async () => {
  const { page } = t;
  let bytes = 0;
  page.on("response", async (res) => {
    if (/\.(js|css)$/.test(new URL(res.url()).pathname)) {
      bytes += Number((await res.allHeaders())["content-length"] ?? 0);
    }
  });
  await page.goto(`${t.server.base}/`);
  await page.getByRole("heading", { name: "Scheduled tasks" }).waitFor();
  await page.getByText("No tasks").waitFor();
  assert.ok(bytes > 0 && bytes <= 300 * 1024, `first load: ${bytes} bytes of JS and CSS`);
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
  assert.deepEqual(t.offsite, []);
});
