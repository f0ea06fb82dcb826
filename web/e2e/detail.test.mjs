// The task detail and the executions pages in a real browser.
import { test } from "node:test";
import assert from "node:assert/strict";
import { eventually } from "../../tests/support/harness.mjs";
import { browserForFile, screenshot } from "./browser.mjs";

const t = browserForFile();

test("a task's detail: configuration, next runs, live history, output; then all executions", async () => {
  const { page } = t;
  const hour = 3600000;
  const nextHour = Math.ceil(Date.now() / hour) * hour;
  const task = (
    await t.api("POST", "/api/scheduler/tasks", {
      name: "hourly sweep",
      cronExpression: "0 0 * * * *",
      timezone: "Asia/Tokyo",
      type: "function",
      functionName: "cleanup-logs",
      functionPayload: '{"days": 3}',
      maxRetries: 2,
      jitterSeconds: 1800,
      maxRuns: 100,
      pauseAfterFailures: 5,
      endAt: nextHour + 2 * hour, // three more runs
    })
  ).json.data;
  await page.goto(`${t.server.base}/admin/scheduler/`);
  await page.getByRole("link", { name: "hourly sweep" }).click();
  await page.getByRole("heading", { name: "hourly sweep" }).waitFor();
  assert.match(page.url(), new RegExp(`/admin/scheduler/tasks/${task.id}$`));
  await page.getByText("Every hour").waitFor();
  await page.getByText('{"days": 3}').waitFor();
  // The next runs within the task's end, each with its jittered start.
  const runs = page.getByTestId("next-runs").locator("li");
  await page.getByTestId("jitter").getByText("each run starts up to 1800 s after its instant").waitFor();
  await page.getByTestId("limits").getByText("0 of 100 runs made").waitFor();
  await page.getByTestId("limits").getByText("pauses after 5 failures in a row").waitFor();
  await runs
    .first()
    .getByText(/starts \+\d+\.\d s/)
    .waitFor();
  assert.equal(await runs.count(), 3);
  const first = Number((await runs.first().textContent()).match(/starts \+(\d+\.\d) s/)[1]);
  const nextRun = (await t.api("GET", `/api/scheduler/tasks/${task.id}`)).json.data.task.nextRun;
  assert.ok(Math.abs(nextHour + first * 1000 - nextRun) <= 100, `${first} s after ${nextHour} vs ${nextRun}`);
  await page.getByText("No executions").waitFor();

  await page.getByRole("button", { name: "Run now" }).click();
  await page.getByText("hourly sweep queued").first().waitFor();
  const row = page.getByRole("row", { name: /success/ });
  await row.getByText("manual").waitFor();
  await row.getByText("deleted 0 successful executions older than 3 days").waitFor();
  await row.getByRole("button", { name: "Show details" }).click();
  await page.getByText("Execution", { exact: true }).waitFor();
  await screenshot(page, "task-detail");

  // Pausing asks why; the note shows until the task is resumed.
  await page.getByRole("button", { name: "Pause" }).click();
  const pause = page.getByRole("dialog");
  await pause.getByLabel("Why (optional)").fill("waiting for the vendor");
  await pause.getByRole("button", { name: "Pause" }).click();
  await page.getByText("Paused: nothing is scheduled.").waitFor();
  const note = page.getByTestId("pause-note");
  await note.getByText("waiting for the vendor").waitFor();
  await note.getByText(/^Paused since /).waitFor();
  assert.equal(
    (await t.api("GET", `/api/scheduler/tasks/${task.id}`)).json.data.task.pausedNote,
    "waiting for the vendor",
  );
  await screenshot(page, "task-paused");
  await page.getByRole("button", { name: "Resume" }).click();
  await page.getByTestId("next-runs").waitFor();
  await note.waitFor({ state: "detached" });

  // Every execution, filtered by status; the task named, not just its id.
  await page.getByRole("link", { name: "All executions" }).click();
  await page.getByRole("heading", { name: "Executions", level: 1 }).waitFor();
  await page.getByText("Task: hourly sweep").waitFor();
  await page.getByRole("button", { name: "Show every task" }).click();
  await page.getByRole("link", { name: "hourly sweep" }).waitFor();
  await page.getByRole("combobox", { name: "Status" }).click();
  await page.getByRole("option", { name: "failed" }).click();
  await page.getByText("No executions").waitFor();
  assert.match(page.url(), /status=failed/);
  await screenshot(page, "executions");

  // The seed's address of a task's page opens it too (its links and bookmarks keep
  // working); any other single segment is still not found.
  await page.goto(`${t.server.base}/admin/scheduler/${task.id}`);
  await page.getByRole("heading", { name: "hourly sweep" }).waitFor();
  assert.match(page.url(), new RegExp(`/admin/scheduler/tasks/${task.id}$`));
  await page.goto(`${t.server.base}/admin/scheduler/no-such-page`);
  await page.getByText("Nothing here").waitFor();

  // Deleting from the detail page goes back to the list.
  await page.goto(`${t.server.base}/admin/scheduler/tasks/${task.id}`);
  await page.getByRole("button", { name: "Delete" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Delete" }).click();
  await page.getByRole("heading", { name: "Scheduled tasks" }).waitFor();
  await page.goto(`${t.server.base}/admin/scheduler/tasks/${task.id}`);
  await page.getByText("No such task").waitFor();
  assert.deepEqual(t.offsite, []);
});

test("backfill from the task page: the count first, then every instant once", async () => {
  const { page } = t;
  const task = (
    await t.api("POST", "/api/scheduler/tasks", {
      name: "hourly report",
      cronExpression: "0 0 * * * *",
      timezone: "UTC",
      type: "function",
      functionName: "cleanup-logs",
      enabled: false,
    })
  ).json.data;
  await page.goto(`${t.server.base}/admin/scheduler/tasks/${task.id}`);
  await page.getByRole("heading", { name: "hourly report" }).waitFor();
  await page.getByRole("button", { name: "Backfill" }).click();
  const dialog = page.getByRole("dialog");
  // The last day, by default: 24 hourly instants.
  const preview = dialog.getByTestId("backfill-preview");
  await preview.getByText("24 runs in the range").waitFor();
  // Three hours instead.
  const hour = 3600000;
  const end = Math.floor(Date.now() / hour) * hour;
  const local = (ms) =>
    page.evaluate((v) => {
      const d = new Date(v);
      const p = (n) => String(n).padStart(2, "0");
      return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
    }, ms);
  await dialog.getByLabel("From", { exact: true }).fill(await local(end - 3 * hour));
  await dialog.getByLabel("To (not included)", { exact: true }).fill(await local(end));
  await preview.getByText("3 runs in the range").waitFor();
  await screenshot(page, "backfill");
  await dialog.getByRole("button", { name: "Run 3 runs" }).click();
  await page.getByText("Backfill of hourly report started").first().waitFor();
  await dialog.waitFor({ state: "detached" });
  const runs = async () =>
    (await t.api("GET", `/api/scheduler/executions?taskId=${task.id}`)).json.data.list.filter(
      (e) => e.status === "success",
    );
  await eventually(async () => (await runs()).length === 3, 10000, "the backfill ran");
  const done = await runs();
  assert.deepEqual(done.map((e) => e.scheduledFor).sort(), [end - 3 * hour, end - 2 * hour, end - hour]);
  assert.ok(done.every((e) => e.trigger === "backfill"));
  await page
    .getByRole("row", { name: /backfill/ })
    .first()
    .waitFor();
  // A range in the future is refused on its field.
  await page.getByRole("button", { name: "Backfill" }).click();
  await dialog.getByLabel("To (not included)", { exact: true }).fill(await local(end + 5 * hour));
  await dialog.getByText(/must not be in the future/).waitFor();
  assert.deepEqual(t.offsite, []);
});
