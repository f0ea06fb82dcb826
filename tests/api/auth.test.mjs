// With a token set, every route but /healthz needs it; the routes come from the server's
// own list of them, not from this file.
import { test } from "node:test";
import assert from "node:assert/strict";
import { serverForFile } from "./server.mjs";

const token = "s3cret-token-for-tests";
// At debug level every request is logged: the most chances for the token to leak.
const t = serverForFile({ env: { CRONKIT_API_TOKEN: token }, args: ["--log-level", "debug"] });

// The routes, from the server's own description (a unit test checks that it lists exactly
// the router's routes).
async function routes() {
  const doc = (await t.api("GET", "/api/openapi.json", undefined, { authorization: `Bearer ${token}` })).json;
  const out = Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.keys(item)
      .filter((m) => m !== "parameters")
      .map((m) => [m.toUpperCase(), path.replace("{id}", "x")]),
  );
  assert.ok(out.length >= 15);
  return [...out, ["GET", "/api/unknown"]];
}

test("every route but /healthz answers 401 without the token", async () => {
  for (const [method, path] of await routes()) {
    if (path === "/healthz") continue;
    for (const headers of [
      {},
      { authorization: "Bearer wrong" },
      { authorization: `Basic ${token}` },
      { authorization: `Bearer ${token}x` },
      { authorization: "Bearer " },
    ]) {
      const res = await t.api(
        method,
        path,
        method === "GET" || method === "DELETE" ? undefined : {},
        headers,
      );
      assert.equal(res.status, 401, `${method} ${path} ${JSON.stringify(headers)}`);
      assert.equal(res.json.code, 401);
      assert.equal(res.headers.get("www-authenticate"), "Bearer");
    }
  }
  assert.equal((await t.api("GET", "/healthz")).status, 200);
});

test("the token opens every route", async () => {
  const auth = { authorization: `Bearer ${token}` };
  assert.equal((await t.api("GET", "/api/scheduler/tasks", undefined, auth)).status, 200);
  assert.equal((await t.api("GET", "/readyz", undefined, auth)).status, 200);
  const created = await t.api(
    "POST",
    "/api/scheduler/tasks",
    {
      name: "t",
      cronExpression: "@hourly",
      type: "function",
      functionName: "cleanup-logs",
    },
    auth,
  );
  assert.equal(created.status, 201);
  assert.equal((await t.api("GET", "/api/scheduler/tasks/nope", undefined, auth)).status, 404);
});

test("the token is not written to the log", async () => {
  await t.server.settleLog();
  assert.ok(!t.server.log().includes(token));
});
