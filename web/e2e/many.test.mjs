// 100,000 tasks and 10,050 executions of one of them: the lists page on the server, so the
// browser holds 20 rows whatever the total; executions page by cursor, their total shown as
// "10,000+". Everything is written into the database before the server starts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after } from "node:test";
import { browserForFile, screenshot } from "./browser.mjs";

const root = resolve(new URL("../..", import.meta.url).pathname);
const dir = mkdtempSync(join(tmpdir(), "cronkit-many-"));
const file = join(dir, "cronkit.db");
execFileSync(process.env.CRONKIT_BIN ?? join(root, "build/cronkit"), ["migrate", "--db", `sqlite:${file}`]);
// The executions: one a second over the last ~3 hours (within the retention, which the
// server applies at start).
const from = Math.floor(Date.now() / 1000) * 1000 - 4 * 3600 * 1000;
execFileSync("sqlite3", [
  file,
  `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 99999)
   INSERT INTO scheduled_tasks (id, name, cron_expression, timezone, type, function_name,
                                created_at, updated_at)
   SELECT printf('0190b8c4-%04x-7000-8000-%012d', i / 65536, i), 'task ' || i, '0 0 3 * * *',
          'UTC', 'function', 'cleanup-logs', 1700000000000 + i, 1700000000000 + i FROM n;
   WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 10049)
   INSERT INTO task_execution_logs (id, task_id, status, scheduled_for, queued_at, attempts,
                                    result_summary)
   SELECT printf('%08x-%04x-7000-8000-%012x', (${from} + i * 1000) >> 16,
                 (${from} + i * 1000) & 65535, i),
          printf('0190b8c4-%04x-7000-8000-%012d', 0, 7), 'success',
          ${from} + i * 1000, ${from} + i * 1000, 1, 'run ' || i FROM n;`,
]);
after(() => rmSync(dir, { recursive: true, force: true }));

const t = browserForFile({ db: `sqlite:${file}` });

test("100,000 tasks: the first page, the last page and a search", async () => {
  const { page } = t;
  await page.goto(`${t.server.base}/admin/scheduler/`);
  await page.locator('[data-stat="Tasks"]', { hasText: "100000" }).waitFor();
  await page.getByRole("row", { name: /task 99999/ }).waitFor();
  assert.equal(await page.locator("tbody tr").count(), 20);

  await page.getByRole("button", { name: "Last Page" }).click();
  await page.getByRole("row", { name: /task 0\b/ }).waitFor();
  assert.equal(await page.locator("tbody tr").count(), 20);
  await screenshot(page, "tasks-100000-last-page");

  await page.getByLabel("Search by name").fill("task 4242");
  await page.getByRole("row", { name: /task 42420/ }).waitFor();
  assert.equal(await page.locator("tbody tr").count(), 11); // 4242 and 42420-42429
  assert.deepEqual(t.offsite, []);
});

test("10,050 executions: pages by cursor, older and newer, with the total shown as 10,000+", async () => {
  const { page } = t;
  await page.goto(`${t.server.base}/admin/scheduler/executions`);
  const range = page.getByTestId("page-range");
  await range.filter({ hasText: "1-20 of 10,000+" }).waitFor();
  await page.getByText("run 10049", { exact: true }).waitFor();
  await page.getByRole("button", { name: "Older" }).click();
  await range.filter({ hasText: "21-40 of 10,000+" }).waitFor();
  await page.getByText("run 10029", { exact: true }).waitFor();
  assert.equal(await page.locator("tbody tr").count(), 20);
  assert.match(page.url(), /before=/);
  // The address holds the cursor: opened again, it shows the same page.
  await page.reload();
  await page.getByText("run 10029", { exact: true }).waitFor();
  await page.getByRole("button", { name: "Older" }).click();
  await page.getByText("run 10009", { exact: true }).waitFor();
  await page.getByRole("button", { name: "Newer" }).click();
  await page.getByText("run 10029", { exact: true }).waitFor();
  await screenshot(page, "executions-10050-by-cursor");
  assert.deepEqual(t.offsite, []);
});
