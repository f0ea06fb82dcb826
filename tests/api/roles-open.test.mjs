// A server started without --api-token takes every request as an anonymous admin, and
// refuses to make named tokens, which it would not ask for.
import { test } from "node:test";
import assert from "node:assert/strict";
import { serverForFile } from "./server.mjs";

const t = serverForFile();

test("without a bootstrap token nobody needs one, and named tokens are refused", async () => {
  const me = await t.api("GET", "/api/scheduler/me");
  assert.equal(me.status, 200);
  assert.deepEqual(me.json.data, { actor: "anonymous", role: "admin", authRequired: false });
  const created = await t.api("POST", "/api/scheduler/tokens", { name: "ci", role: "viewer" });
  assert.equal(created.status, 409);
  assert.match(created.json.message, /--api-token/);
  assert.deepEqual((await t.api("GET", "/api/scheduler/tokens")).json.data, []);
});
