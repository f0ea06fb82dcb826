// The Audit page: an admin reads who changed what, filters it, and opens an update to see
// each changed field before and after, secrets hidden; others are not offered the page, and
// the server refuses it to them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { browserForFile, screenshot, signIn } from "./browser.mjs";

const BOOT = "audit-ui-bootstrap-token-0123456789";
const t = browserForFile({ env: { CRONKIT_API_TOKEN: BOOT } });
const admin = (method, path, body) => t.api(method, path, body, { authorization: `Bearer ${BOOT}` });

test("an admin reads the trail, filters it, and sees an update's fields before and after", async () => {
  const created = await admin("POST", "/api/scheduler/tasks", {
    name: "audited nightly",
    type: "http",
    httpUrl: "http://127.0.0.1:9/hook",
    httpHeaders: JSON.stringify({ Authorization: "Bearer ui-secret-value" }),
    cronExpression: "0 0 * * *",
    enabled: false,
  });
  assert.equal(created.status, 201, created.text);
  const id = created.json.data.id;
  const updated = await admin("PUT", `/api/scheduler/tasks/${id}`, {
    cronExpression: "0 3 * * *",
    httpHeaders: JSON.stringify({ Authorization: "Bearer ui-secret-value-2" }),
  });
  assert.equal(updated.status, 200, updated.text);
  const viewer = (await admin("POST", "/api/scheduler/tokens", { name: "ui-audit-viewer", role: "viewer" }))
    .json.data.token;

  const { page } = t;
  await signIn(t, BOOT);
  await page.getByRole("link", { name: "Audit", exact: true }).click();
  await page.getByRole("heading", { name: "Audit trail" }).waitFor();
  const rows = page.locator("tbody tr");
  await page.getByRole("cell", { name: "task.update" }).waitFor();
  await page.getByRole("cell", { name: "token.create" }).waitFor();
  assert.ok((await rows.count()) >= 3);

  // The update, opened: each changed field, the header's value hidden.
  const update = page.getByRole("row").filter({ hasText: "task.update" });
  await update.getByText("changed cronExpression, httpHeaders").waitFor();
  await update.getByRole("button", { name: "Show details" }).click();
  const changes = page.getByRole("table", { name: "Changed fields" });
  await changes.getByRole("cell", { name: "0 0 * * *" }).waitFor();
  await changes.getByRole("cell", { name: "0 3 * * *" }).waitFor();
  assert.equal(await changes.getByRole("cell", { name: '{"Authorization":"<hidden>"}' }).count(), 2);
  assert.ok(!(await page.content()).includes("ui-secret-value"), "no secret on the page");
  await screenshot(page, "audit-update");

  // Filtered by a kind of action, then by target: the address keeps the filter.
  await page.getByRole("combobox", { name: "Action" }).click();
  await page.getByRole("option", { name: "Any token action" }).click();
  await page.waitForURL(/action=token/);
  await page.getByRole("cell", { name: "task.update" }).waitFor({ state: "detached" });
  await page.getByRole("cell", { name: "token.create" }).waitFor();
  await page.getByRole("combobox", { name: "Action" }).click();
  await page.getByRole("option", { name: "Any action" }).click();
  await page.getByLabel("Target").fill("audited nightly");
  await page.getByLabel("Target").press("Enter");
  await page.waitForURL(/target=audited/);
  await page.getByRole("cell", { name: "token.create" }).waitFor({ state: "detached" });
  assert.deepEqual(await page.locator("tbody tr td:nth-child(5)").allInnerTexts(), [
    "task.update",
    "task.create",
  ]);
  await page.getByRole("link", { name: "audited nightly" }).first().click();
  await page.getByRole("heading", { name: "audited nightly" }).waitFor();

  // A viewer is not offered the page, and reading it anyway is refused.
  await signIn(t, viewer);
  await page.getByTestId("signed-in").getByText("viewer", { exact: true }).waitFor();
  assert.equal(await page.getByRole("link", { name: "Audit", exact: true }).count(), 0);
  await page.goto(`${t.server.base}/admin/scheduler/audit`);
  await page.getByText("this needs the admin role; ui-audit-viewer has viewer").waitFor();
  assert.deepEqual(t.offsite, []);
});
