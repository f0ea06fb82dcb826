// Command tasks in a real browser, on a server that allows them: the argv edited one
// argument per line with its exact preview, variables as rows, the browser's and the
// server's errors on their fields, a run whose exit status and output show in the history,
// and the type filter.
import { test } from "node:test";
import assert from "node:assert/strict";
import { browserForFile, field, screenshot } from "./browser.mjs";

const t = browserForFile({ args: ["--allow-commands", "--insecure", "--shutdown-grace", "0"] });

test("create a command task, run it, read its exit status and output", async () => {
  const { page } = t;
  await page.goto(`${t.server.base}/admin/scheduler/`);
  await page.getByRole("button", { name: "New task" }).click();
  const dialog = page.getByRole("dialog");
  await field(dialog, "Name").fill("greeter");
  await field(dialog, "Cron pattern").fill("0 0 1 1 *");
  await dialog.getByRole("combobox", { name: "Type" }).click();
  await page.getByRole("option", { name: "Command: a program run on the server" }).click();

  const lines = dialog.getByTestId("command-lines");
  await lines.fill('/bin/sh\n-c\necho "hello $GREETING"; echo "to stderr" >&2; exit 3');
  assert.equal(
    await dialog.getByTestId("argv-preview").textContent(),
    JSON.stringify(["/bin/sh", "-c", 'echo "hello $GREETING"; echo "to stderr" >&2; exit 3']),
  );
  await field(dialog, "Working directory").fill("relative/dir");
  await dialog.getByRole("button", { name: "Add variable" }).click();
  await dialog.getByLabel("Variable 1 name").fill("CRONKIT_X");
  await dialog.getByLabel("Variable 1 value").fill("world");
  await dialog.getByRole("button", { name: "Create" }).click();
  await dialog.getByText("must be an absolute path").waitFor();
  await dialog.getByText("CRONKIT_X: cronkit sets the CRONKIT_ variables itself").waitFor();
  await screenshot(page, "form-command-errors");
  await field(dialog, "Working directory").fill("/tmp");
  await dialog.getByLabel("Variable 1 name").fill("GREETING");
  await dialog.getByRole("button", { name: "Create" }).click();
  await dialog.waitFor({ state: "detached" });

  const task = (await t.api("GET", "/api/scheduler/tasks?type=command")).json.data.list[0];
  assert.equal(task.name, "greeter");
  assert.deepEqual(task.command, ["/bin/sh", "-c", 'echo "hello $GREETING"; echo "to stderr" >&2; exit 3']);
  assert.deepEqual(task.environment, { GREETING: "world" });
  assert.equal(task.workingDirectory, "/tmp");

  // The type filter keeps command tasks only.
  await t.api("POST", "/api/scheduler/tasks", {
    name: "a function",
    cronExpression: "0 0 1 1 *",
    type: "function",
    functionName: "cleanup-logs",
  });
  await page.getByRole("row", { name: /a function/ }).waitFor();
  await page.getByRole("combobox", { name: "Type" }).click();
  await page.getByRole("option", { name: "Command", exact: true }).click();
  await page.getByRole("row", { name: /a function/ }).waitFor({ state: "detached" });
  await page.getByRole("row", { name: /greeter/ }).waitFor();

  // Its page shows the exact command; a run's exit status and output are in the history.
  await page.getByRole("link", { name: "greeter" }).click();
  await page.getByRole("heading", { name: "greeter" }).waitFor();
  assert.equal(await page.getByTestId("task-command").textContent(), JSON.stringify(task.command));
  await page.getByRole("button", { name: "Run now" }).click();
  const row = page.getByRole("row", { name: /failed/ });
  await row.getByText("exit 3").waitFor();
  await row.getByRole("button", { name: "Show details" }).click();
  const output = page.locator("pre", { hasText: "hello world" });
  await output.waitFor();
  assert.equal(await output.textContent(), "hello world\nto stderr\n");
  assert.equal(await output.evaluate((e) => getComputedStyle(e).whiteSpace), "pre-wrap");
  assert.match(await output.evaluate((e) => getComputedStyle(e).fontFamily), /mono/i);
  await screenshot(page, "command-run");

  // Editing opens the form with one argument per line and the variables as rows.
  await page.getByRole("button", { name: "Edit" }).click();
  const edit = page.getByRole("dialog");
  assert.equal(
    await edit.getByTestId("command-lines").inputValue(),
    '/bin/sh\n-c\necho "hello $GREETING"; echo "to stderr" >&2; exit 3',
  );
  assert.equal(await edit.getByLabel("Variable 1 value").inputValue(), "world");
  await edit.getByRole("button", { name: "Cancel" }).click();
  assert.deepEqual(t.offsite, []);
});
