// The create/edit form in a real browser: the live preview, errors on their fields (the
// browser's for JSON, the server's for the pattern and the URL), a function task and an
// http task created, edited and run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startReceiver } from "../../tests/support/harness.mjs";
import { browserForFile, field, screenshot } from "./browser.mjs";

const t = browserForFile();

test("create a function task, with the preview and the errors on the way", async () => {
  const { page } = t;
  await page.goto(`${t.server.base}/admin/scheduler/`);
  await page.getByRole("button", { name: "New task" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByRole("heading", { name: "New task" }).waitFor();

  await field(dialog, "Name").fill("weekly report");
  await field(dialog, "Time zone").fill("America/New_York");
  await field(dialog, "Cron pattern").fill("61 * * * *");
  const preview = dialog.getByTestId("preview");
  await preview.getByText(/minute: 61 is out of range/).waitFor();
  await screenshot(page, "form-bad-pattern");

  await dialog.getByRole("button", { name: "Mondays at 09:00" }).click();
  await preview.getByText("At 09:00, only on Monday").waitFor();
  await preview.getByText("America/New_York").first().waitFor();
  assert.equal(await preview.locator("li").count(), 5);

  await field(dialog, "Payload (JSON)").fill("{days: 7}");
  await dialog.getByText(/not valid JSON/).waitFor(); // as it is typed, before saving
  await dialog.getByRole("button", { name: "Create" }).click();
  await dialog.getByText(/not valid JSON/).waitFor(); // and the form stays open
  await screenshot(page, "form-bad-json");
  await field(dialog, "Payload (JSON)").fill('{"days": 7}');
  await dialog.getByRole("button", { name: "Create" }).click();
  await dialog.waitFor({ state: "detached" });

  const row = page.getByRole("row", { name: /weekly report/ });
  await row.getByText("0 9 * * 1").waitFor();
  const task = (await t.api("GET", "/api/scheduler/tasks")).json.data.list.find(
    (x) => x.name === "weekly report",
  );
  assert.equal(task.timezone, "America/New_York");
  assert.equal(task.functionName, "cleanup-logs");
  assert.equal(task.functionPayload, '{"days": 7}');

  // Edit: the form opens with the task as it is; the change is saved.
  await row.getByRole("button", { name: "Edit weekly report" }).click();
  await dialog.getByRole("heading", { name: "Edit weekly report" }).waitFor();
  assert.equal(await field(dialog, "Cron pattern").inputValue(), "0 9 * * 1");
  await field(dialog, "Retries").fill("3");
  // The task uses no advanced setting: the section is closed until asked for.
  assert.equal(await dialog.getByRole("combobox", { name: "Retry backoff" }).count(), 0);
  await dialog.getByRole("button", { name: /^Advanced/ }).click();
  await dialog.getByRole("combobox", { name: "Retry backoff" }).click();
  await page.getByRole("option", { name: /Exponential/ }).click();
  await field(dialog, "Longest retry wait (s)").fill("120");
  // A start: the preview's runs begin there.
  await field(dialog, "Start at").fill("2031-01-01T00:00");
  const start = await page.evaluate(() => new Date("2031-01-01T00:00").getTime());
  await preview
    .getByText(/2031-01-06/)
    .first()
    .waitFor(); // the first Monday of 2031
  // Jitter: the saved task's runs show when each starts.
  await field(dialog, "Jitter (s)").fill("30");
  await field(dialog, "Stop after runs").fill("10");
  await dialog.getByRole("combobox", { name: "Missed runs after downtime" }).click();
  await page.getByRole("option", { name: /^All/ }).click();
  await field(dialog, "Catch-up window (s)").fill("7200");
  await field(dialog, "Pause after failures in a row").fill("3");
  await preview
    .getByText(/starts \+\d+(\.\d)? s/)
    .first()
    .waitFor();
  await dialog.getByRole("button", { name: "Save" }).click();
  await dialog.waitFor({ state: "detached" });
  const saved = (await t.api("GET", `/api/scheduler/tasks/${task.id}`)).json.data.task;
  assert.equal(saved.jitterSeconds, 30);
  assert.equal(saved.maxRuns, 10);
  assert.equal(saved.catchUpPolicy, "all");
  assert.equal(saved.catchUp, true);
  assert.equal(saved.catchUpWindowSeconds, 7200);
  assert.equal(saved.pauseAfterFailures, 3);
  assert.ok(saved.nextRun >= start && saved.nextRun < start + 7 * 86400000);
  assert.equal(saved.maxRetries, 3);
  assert.equal(saved.retryBackoff, "exponential");
  assert.equal(saved.retryMaxDelaySeconds, 120);
  assert.equal(saved.startAt, start);
  assert.equal(saved.endAt, null);
  assert.deepEqual(t.offsite, []);
});

test("create an http task: the server's URL error on its field, then a run that calls it", async () => {
  const target = await startReceiver();
  const url = target.url("/ping");
  try {
    const { page } = t;
    await page.goto(`${t.server.base}/admin/scheduler/`);
    await page.getByRole("button", { name: "New task" }).click();
    const dialog = page.getByRole("dialog");
    await field(dialog, "Name").fill("ping");
    await field(dialog, "Cron pattern").fill("0 0 * * *");
    await dialog.getByRole("combobox", { name: "Type" }).click();
    await page.getByRole("option", { name: "HTTP request" }).click();
    await field(dialog, "URL").fill("ftp://127.0.0.1/ping");
    await field(dialog, "Headers (JSON object)").fill('{"X-From": "cronkit"}');
    await dialog.getByRole("button", { name: "Create" }).click();
    await dialog.getByText(/http or https/).waitFor();
    await screenshot(page, "form-bad-url");
    await field(dialog, "URL").fill(url);
    await dialog.getByRole("button", { name: "Create" }).click();
    await dialog.waitFor({ state: "detached" });

    const row = page.getByRole("row", { name: /ping/ });
    await row.getByRole("button", { name: "Run ping now" }).click();
    await row.getByText("success").waitFor();
    assert.deepEqual(
      target.requests.map((r) => `${r.method} ${r.path} ${r.headers["x-from"]}`),
      ["GET /ping cronkit"],
    );
    assert.deepEqual(t.offsite, []);
  } finally {
    target.close();
  }
});
