// The UI per role: the header names who is signed in and their role, and the actions the
// role may not take are not offered — a viewer only reads, an operator also runs and pauses,
// an admin also creates, edits and deletes. (The server refuses them either way:
// tests/api/roles.test.mjs.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { browserForFile, screenshot, signIn } from "./browser.mjs";

const BOOT = "roles-ui-bootstrap-token-0123456789";
const t = browserForFile({ env: { CRONKIT_API_TOKEN: BOOT } });
const admin = (method, path, body) => t.api(method, path, body, { authorization: `Bearer ${BOOT}` });

// How many of these are on the page (once it shows the signed-in role: it knows what to offer).
const count = (locator) => locator.count();

test("each role sees who it is and only the actions it may take", async () => {
  const task = await admin("POST", "/api/scheduler/tasks", {
    name: "role probe",
    type: "function",
    functionName: "cleanup-logs",
    cronExpression: "0 0 1 1 *",
  });
  assert.equal(task.status, 201);
  await admin("POST", "/api/scheduler/channels", {
    name: "role hook",
    type: "webhook",
    url: "http://127.0.0.1:9/h",
  });
  const tokens = {};
  for (const role of ["viewer", "operator", "admin"]) {
    tokens[role] = (
      await admin("POST", "/api/scheduler/tokens", { name: `ui-${role}`, role })
    ).json.data.token;
  }
  const { page } = t;
  const expect = {
    viewer: { run: 0, pause: 0, edit: 0, del: 0, create: 0, backfill: 0, send: 0, channelEdit: 0 },
    operator: { run: 1, pause: 1, edit: 0, del: 0, create: 0, backfill: 1, send: 1, channelEdit: 0 },
    admin: { run: 1, pause: 1, edit: 1, del: 1, create: 1, backfill: 1, send: 1, channelEdit: 1 },
  };
  for (const role of ["viewer", "operator", "admin"]) {
    await signIn(t, tokens[role]);
    const header = page.getByTestId("signed-in");
    await header.getByText(`ui-${role}`).waitFor();
    await header.getByText(role, { exact: true }).waitFor();
    await page.getByRole("link", { name: "role probe" }).first().waitFor();
    const want = expect[role];
    assert.equal(await count(page.getByRole("button", { name: "Run role probe now" })), want.run, role);
    assert.equal(await count(page.getByRole("button", { name: "Pause" })), want.pause, role);
    assert.equal(await count(page.getByRole("button", { name: "Edit role probe" })), want.edit, role);
    assert.equal(await count(page.getByRole("button", { name: "Delete role probe" })), want.del, role);
    assert.equal(await count(page.getByRole("button", { name: "New task" })), want.create, role);
    assert.equal(await count(page.getByRole("link", { name: "Audit", exact: true })), want.create, role);
    await screenshot(page, `roles-${role}-list`);

    await page.goto(`${t.server.base}/admin/scheduler/tasks/${task.json.data.id}`);
    await page.getByRole("heading", { name: "role probe" }).waitFor();
    await header.getByText(role, { exact: true }).waitFor(); // the page knows the role
    assert.equal(await count(page.getByRole("button", { name: "Run now" })), want.run, role);
    assert.equal(await count(page.getByRole("button", { name: "Backfill" })), want.backfill, role);
    assert.equal(await count(page.getByRole("button", { name: "Edit" })), want.edit, role);
    assert.equal(await count(page.getByRole("button", { name: "Delete" })), want.del, role);

    await page.goto(`${t.server.base}/admin/scheduler/channels`);
    await page.getByText("role hook").waitFor();
    await header.getByText(role, { exact: true }).waitFor();
    assert.equal(await count(page.getByRole("button", { name: "Send test" })), want.send, role);
    assert.equal(await count(page.getByRole("button", { name: "Edit" })), want.channelEdit, role);
    assert.equal(await count(page.getByRole("button", { name: "New channel" })), want.channelEdit, role);
  }

  // Signing out forgets the token and asks for one again.
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem("cronkit.token")), null);
  assert.deepEqual(t.offsite, []);
});
