// With a token on the server: the UI asks for it, refuses a wrong one, keeps the right one
// only in sessionStorage, and a 401 later returns to the login.
import { test } from "node:test";
import assert from "node:assert/strict";
import { browserForFile, screenshot } from "./browser.mjs";

const t = browserForFile({ env: { CRONKIT_API_TOKEN: "correct horse battery staple" } });

test("login with the server's token", async () => {
  const { page } = t;
  await page.goto(`${t.server.base}/admin/scheduler/`);
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  await screenshot(page, "login");
  await page.getByLabel("API token").fill("wrong");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByText("That token is not accepted.").waitFor();

  await page.getByLabel("API token").fill("correct horse battery staple");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Scheduled tasks" }).waitFor();
  const stored = await page.evaluate(() => Object.values(localStorage).join("\n"));
  assert.doesNotMatch(stored, /correct horse/, "the token is never in localStorage");
  assert.equal(
    await page.evaluate(() => sessionStorage.getItem("cronkit.token")),
    "correct horse battery staple",
  );

  // A token that stops working (the server's changed) sends the user back to the login.
  await page.evaluate(() => sessionStorage.setItem("cronkit.token", "revoked"));
  await page.reload();
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  assert.match(page.url(), /\/admin\/scheduler\/login\?redirect=/);
  assert.deepEqual(t.offsite, []);
});
