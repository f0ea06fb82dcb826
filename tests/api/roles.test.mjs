// Named tokens and roles. The matrix: every route of the server's own description (a unit
// test checks that it lists exactly the router's routes, each with its least role) ×
// every kind of caller — no token, a wrong one, a revoked one, an expired one, a viewer, an
// operator, an admin, the bootstrap token — gets exactly the status this file expects. A
// route this file does not know fails the test.
import { test } from "node:test";
import assert from "node:assert/strict";
import { eventually, serverForFile } from "./server.mjs";

const BOOT = "roles-bootstrap-token-0123456789";
const t = serverForFile({ env: { CRONKIT_API_TOKEN: BOOT }, args: ["--log-level", "debug"] });
const as = (token) => (token ? { authorization: `Bearer ${token}` } : {});
const boot = (method, path, body) => t.api(method, path, body, as(BOOT));

// What each route answers a caller whose role allows it, for a request with an id that
// does not exist and an empty object as its body: nothing is changed.
const allowed = {
  "GET /api/scheduler/tasks": 200,
  "POST /api/scheduler/tasks": 422,
  "GET /api/scheduler/tasks/{id}": 404,
  "PUT /api/scheduler/tasks/{id}": 404,
  "DELETE /api/scheduler/tasks/{id}": 404,
  "POST /api/scheduler/tasks/{id}/trigger": 404,
  "POST /api/scheduler/tasks/{id}/toggle": 400,
  "POST /api/scheduler/tasks/{id}/backfill": 404,
  "GET /api/scheduler/tasks/{id}/backfill/preview": 404,
  "GET /api/scheduler/executions": 200,
  "GET /api/scheduler/executions/{id}": 404,
  "POST /api/scheduler/apply": 422,
  "GET /api/scheduler/export": 200,
  "GET /api/scheduler/stats": 200,
  "POST /api/scheduler/cron/preview": 422,
  "GET /api/scheduler/channels": 200,
  "POST /api/scheduler/channels": 422,
  "GET /api/scheduler/channels/{id}": 404,
  "PUT /api/scheduler/channels/{id}": 404,
  "DELETE /api/scheduler/channels/{id}": 404,
  "POST /api/scheduler/channels/{id}/test": 404,
  "GET /api/scheduler/deliveries": 200,
  "GET /api/scheduler/tokens": 200,
  "POST /api/scheduler/tokens": 422,
  "DELETE /api/scheduler/tokens/{id}": 404,
  "GET /api/scheduler/audit": 200,
  "GET /api/scheduler/me": 200,
  "GET /api/scheduler/events": 200,
  "GET /healthz": 200,
  "GET /readyz": 200,
  "GET /metrics": 200,
  "GET /api/openapi.json": 200,
};
const rank = { viewer: 0, operator: 1, admin: 2 };

// Sends the probe request of a route; the event stream is closed once its head arrives.
async function probe(method, template, headers) {
  const path = template.replace("{id}", "no-such-id");
  if (template === "/api/scheduler/events") {
    const abort = new AbortController();
    const res = await fetch(t.server.base + path, { headers, signal: abort.signal });
    let json;
    if (res.headers.get("content-type")?.startsWith("application/json")) json = await res.json();
    abort.abort();
    return { status: res.status, json, headers: res.headers };
  }
  return t.api(method, path, method === "POST" || method === "PUT" ? {} : undefined, headers);
}

async function createToken(name, role, extra = {}) {
  const res = await boot("POST", "/api/scheduler/tokens", { name, role, ...extra });
  assert.equal(res.status, 201, res.text);
  return res.json.data;
}

test("every route answers every kind of caller exactly as its role says", async () => {
  const doc = (await boot("GET", "/api/openapi.json")).json;
  const routes = Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([m]) => m !== "parameters")
      .map(([m, op]) => ({ method: m.toUpperCase(), path, role: op["x-cronkit-role"] })),
  );
  for (const r of routes) {
    assert.ok(`${r.method} ${r.path}` in allowed, `${r.method} ${r.path} is in this test's table`);
  }
  assert.equal(routes.length, Object.keys(allowed).length, "the table names no route the server lacks");

  const viewer = await createToken("matrix-viewer", "viewer");
  const operator = await createToken("matrix-operator", "operator");
  const admin = await createToken("matrix-admin", "admin");
  const revoked = await createToken("matrix-revoked", "admin");
  assert.equal((await boot("DELETE", `/api/scheduler/tokens/${revoked.id}`)).status, 200);
  const expired = await createToken("matrix-expired", "admin", { expiresAt: Date.now() + 1000 });
  await eventually(
    async () => (await t.api("GET", "/api/scheduler/me", undefined, as(expired.token))).status === 401,
    10000,
    "the token's expiry",
  );

  const refused = [
    [{}, "authentication required"],
    [as("ck_wrong"), "the token is not known"],
    [as(revoked.token), 'token "matrix-revoked" was revoked'],
    [as(expired.token), 'token "matrix-expired" has expired'],
  ];
  const callers = [
    ["viewer", viewer.token, "matrix-viewer"],
    ["operator", operator.token, "matrix-operator"],
    ["admin", admin.token, "matrix-admin"],
    ["admin", BOOT, "bootstrap"],
  ];
  let checked = 0;
  for (const r of routes) {
    const where = `${r.method} ${r.path}`;
    if (r.role === undefined) {
      // Open: the same answer whoever asks, and a token is not even looked at.
      assert.equal(r.path, "/healthz");
      for (const [headers] of refused)
        assert.equal((await probe(r.method, r.path, headers)).status, 200, where);
      continue;
    }
    for (const [headers, message] of refused) {
      const res = await probe(r.method, r.path, headers);
      assert.equal(res.status, 401, `${where} ${JSON.stringify(headers)}`);
      assert.ok(res.json.message.startsWith(message), `${where}: ${res.json.message}`);
      assert.equal(res.headers.get("www-authenticate"), "Bearer");
      checked++;
    }
    for (const [role, token, actor] of callers) {
      const res = await probe(r.method, r.path, as(token));
      if (rank[role] >= rank[r.role]) {
        assert.equal(res.status, allowed[where], `${where} as ${actor}: ${res.json?.message}`);
      } else {
        assert.equal(res.status, 403, `${where} as ${actor}`);
        assert.equal(res.json.message, `this needs the ${r.role} role; ${actor} has ${role}`);
        assert.deepEqual(res.json.data, { needed: r.role, role });
      }
      checked++;
    }
  }
  assert.ok(checked >= 8 * (routes.length - 1));
});

test("a token is shown once, stored as a hash, named once while active, and refused once revoked", async () => {
  const created = await createToken("ci-deploy", "operator");
  assert.match(created.token, /^ck_[A-Za-z0-9_-]{43}$/);
  assert.equal(created.createdBy, "bootstrap");
  assert.equal(created.role, "operator");
  assert.equal(created.revokedAt, null);
  assert.equal(created.expiresAt, null);

  const me = await t.api("GET", "/api/scheduler/me", undefined, as(created.token));
  assert.deepEqual(me.json.data, { actor: "ci-deploy", role: "operator", authRequired: true });
  assert.deepEqual((await boot("GET", "/api/scheduler/me")).json.data, {
    actor: "bootstrap",
    role: "admin",
    authRequired: true,
  });

  const list = await boot("GET", "/api/scheduler/tokens");
  const listed = list.json.data.find((x) => x.id === created.id);
  assert.ok(listed.lastUsedAt >= created.createdAt, "its use is recorded");
  assert.ok(!list.text.includes(created.token), "the list never holds a token");
  assert.deepEqual(Object.keys(listed).sort(), [
    "createdAt",
    "createdBy",
    "expiresAt",
    "id",
    "lastUsedAt",
    "name",
    "revokedAt",
    "role",
  ]);
  const get = await t.api("GET", "/api/scheduler/tokens", undefined, as(created.token));
  assert.equal(get.status, 403, "an operator may not list tokens");

  // An admin's token creates tokens of its own, named as their creator.
  const admin = await createToken("ops-admin", "admin");
  const made = await t.api(
    "POST",
    "/api/scheduler/tokens",
    { name: "made", role: "viewer" },
    as(admin.token),
  );
  assert.equal(made.status, 201);
  assert.equal(made.json.data.createdBy, "ops-admin");

  const again = await boot("POST", "/api/scheduler/tokens", { name: "ci-deploy", role: "viewer" });
  assert.equal(again.status, 409);
  assert.match(again.json.message, /a token named "ci-deploy" exists/);

  const revoked = await boot("DELETE", `/api/scheduler/tokens/${created.id}`);
  assert.equal(revoked.status, 200);
  assert.ok(revoked.json.data.revokedAt >= created.createdAt);
  const refused = await t.api("GET", "/api/scheduler/me", undefined, as(created.token));
  assert.equal(refused.status, 401, "refused at once on the server that revoked it");
  assert.equal(refused.json.message, 'token "ci-deploy" was revoked');
  const twice = await boot("DELETE", `/api/scheduler/tokens/${created.id}`);
  assert.equal(twice.status, 200);
  assert.equal(twice.json.data.revokedAt, revoked.json.data.revokedAt, "revoking twice changes nothing");
  // The name is free again, for a new token.
  const renewed = await createToken("ci-deploy", "operator");
  assert.notEqual(renewed.token, created.token);
  assert.equal((await t.api("GET", "/api/scheduler/me", undefined, as(renewed.token))).status, 200);

  await t.server.settleLog();
  for (const token of [created.token, renewed.token, admin.token, BOOT]) {
    assert.ok(!t.server.log().includes(token), "no token is logged");
  }
});

test("a token's fields are checked, each named", async () => {
  const cases = [
    [{}, ["name", "role"]],
    [{ name: "", role: "viewer" }, ["name"]],
    [{ name: "has space", role: "viewer" }, ["name"]],
    [{ name: "x".repeat(65), role: "viewer" }, ["name"]],
    [{ name: "ok", role: "root" }, ["role"]],
    [{ name: "ok", role: "viewer", expiresAt: Date.now() - 1 }, ["expiresAt"]],
    [{ name: "ok", role: "viewer", expiresAt: "tomorrow" }, ["expiresAt"]],
    [{ name: "ok", role: "viewer", scope: "all" }, ["scope"]],
  ];
  for (const [body, fields] of cases) {
    const res = await boot("POST", "/api/scheduler/tokens", body);
    assert.equal(res.status, 422, JSON.stringify(body));
    assert.deepEqual(
      res.json.data.map((e) => e.field),
      fields,
      JSON.stringify(body),
    );
  }
  assert.equal((await boot("POST", "/api/scheduler/tokens", [])).status, 422);
  const names = (await boot("GET", "/api/scheduler/tokens")).json.data.map((x) => x.name);
  assert.ok(!names.includes("ok"), "nothing was stored");
});

test("a named token's event stream ends once the token is revoked", async () => {
  const viewer = await createToken("stream-viewer", "viewer");
  const res = await fetch(t.server.base + "/api/scheduler/events", { headers: as(viewer.token) });
  assert.equal(res.status, 200);
  let text = "";
  let ended = false;
  const reading = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of res.body) text += decoder.decode(chunk, { stream: true });
    ended = true;
  })();
  await eventually(() => text.includes(": connected"), 5000, "the stream to open");
  assert.equal((await boot("DELETE", `/api/scheduler/tokens/${viewer.id}`)).status, 200);
  await eventually(() => ended, 5000, "the stream to end");
  await reading;
  assert.match(text, /event: auth\.refused\ndata: \{"message":"token \\"stream-viewer\\" was revoked"\}/);
});
