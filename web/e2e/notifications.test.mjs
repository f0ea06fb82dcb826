// A task's notification rules in a real browser: added in the task form (with the browser's
// check of a rule), shown on the task page, and its deliveries listed there as they happen.
import { test } from "node:test";
import assert from "node:assert/strict";
import { eventually, startReceiver } from "../../tests/support/harness.mjs";
import { browserForFile, screenshot } from "./browser.mjs";

const t = browserForFile();

test("notification rules: added in the form, shown with the task's deliveries", async () => {
  const { page } = t;
  const receiver = await startReceiver({
    respond(req, res, record) {
      req.on("data", (c) => (record.body += c));
      req.on("end", () => {
        res.statusCode = record.path === "/job" ? 500 : 200;
        res.end("");
      });
    },
  });
  try {
    const channel = (
      await t.api("POST", "/api/scheduler/channels", {
        name: "ops",
        type: "webhook",
        url: receiver.url("/hook"),
      })
    ).json.data;
    const task = (
      await t.api("POST", "/api/scheduler/tasks", {
        name: "nightly backup",
        cronExpression: "0 0 1 1 *",
        type: "http",
        httpUrl: receiver.url("/job"),
      })
    ).json.data;
    await page.goto(`${t.server.base}/admin/scheduler/tasks/${task.id}`);
    await page.getByText("No rules: nobody is told when this task fails.").waitFor();

    await page.getByRole("button", { name: "Edit" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByRole("button", { name: "Add a notification rule" }).click();
    const rule = dialog.getByTestId("notification-rule");
    await rule.getByRole("combobox", { name: "Rule 1 channel" }).getByText("ops (webhook)").waitFor(); // the only one
    await dialog.getByLabel("Rule 1 failures in a row").fill("2");
    await rule.getByRole("checkbox", { name: "Slow run" }).click();
    await dialog.getByRole("button", { name: "Save" }).click();
    await dialog.getByText("rule 1: say after how many seconds a run is slow").waitFor();
    await screenshot(page, "form-notification-rule");
    await rule.getByRole("checkbox", { name: "Slow run" }).click();
    await dialog.getByRole("button", { name: "Save" }).click();
    await dialog.waitFor({ state: "detached" });

    const stored = (await t.api("GET", `/api/scheduler/tasks/${task.id}`)).json.data.task;
    assert.deepEqual(stored.notifications, [
      {
        channelId: channel.id,
        on: ["failure", "recovery"],
        afterFailures: 2,
        realertMinutes: null,
        slowSeconds: null,
        missedGraceSeconds: 60,
      },
    ]);
    const rules = page.getByTestId("task-rules");
    await rules.getByText("ops: failure (at 2 in a row); recovery").waitFor();

    // Two failures: the second is told, and listed here as it is delivered.
    for (let i = 0; i < 2; i++) {
      const run = await t.api("POST", `/api/scheduler/tasks/${task.id}/trigger`);
      assert.equal(run.status, 202, run.text);
      const id = run.json.data.executionId;
      await eventually(
        async () => (await t.api("GET", `/api/scheduler/executions/${id}`)).json.data.status === "failed",
        15000,
      );
    }
    // The delivery may show as pending first; it shows as delivered once it is.
    const rows = page.getByTestId("task-deliveries").locator("tbody tr");
    await rows.filter({ hasText: "delivered" }).first().waitFor({ timeout: 15000 });
    assert.equal(await rows.count(), 1);
    assert.match(await rows.first().textContent(), /ops\s*failure\s*delivered\s*answered 200/);
    assert.equal(receiver.requests.filter((r) => r.path === "/hook").length, 1);
    await screenshot(page, "task-notifications");
    assert.deepEqual(t.offsite, []);
  } finally {
    receiver.close();
  }
});
