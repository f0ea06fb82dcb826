// The audit trail against the real binary: every route that changes something records
// exactly one entry when it succeeds (the routes come from the server's own description, so a
// new route that changes something and records nothing fails this file), a refused change
// records nothing, and a refused token records one entry per address and actor a minute.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { defaultBinary } from "../support/harness.mjs";
import { client, startReceiver, startServer } from "./server.mjs";

const BOOT = "audit-bootstrap-token-0123456789";
const SECRET_VALUE = "Bearer do-not-record-me";
const as = (token) => ({ authorization: `Bearer ${token}` });

let server;
let api; // as the bootstrap admin
let receiver;
before(async () => {
  server = await startServer({ env: { CRONKIT_API_TOKEN: BOOT } });
  const call = client(server.base);
  api = (method, path, body, headers = {}) => call(method, path, body, { ...as(BOOT), ...headers });
  receiver = await startReceiver();
});
after(async () => {
  await server?.stop();
  await receiver?.close();
});

async function audit(query = "") {
  const res = await api("GET", `/api/scheduler/audit?pageSize=500${query}`);
  assert.equal(res.status, 200, res.text);
  return res.json.data;
}

// The entries recorded while `fn` runs, oldest first.
async function recordedBy(fn) {
  const before = await audit();
  const result = await fn();
  const now = await audit();
  const known = new Set(before.list.map((e) => e.id));
  return { result, entries: now.list.filter((e) => !known.has(e.id)).reverse() };
}

async function created(path, body) {
  const res = await api("POST", path, body);
  assert.equal(res.status, 201, res.text);
  return res.json.data;
}

const fn = (name, extra = {}) => ({
  name,
  cronExpression: "*/10 * * * * *",
  type: "function",
  functionName: "cleanup-logs",
  enabled: false,
  ...extra,
});

// How to make each route that changes something succeed: returns the answer and the id of
// the target the entry must name, and, for a route that records one of several actions,
// which one.
const calls = {
  "POST /api/scheduler/tasks": async () => {
    const res = await api("POST", "/api/scheduler/tasks", fn("audit-created"));
    return { res, target: res.json?.data?.id, action: "task.create" };
  },
  "PUT /api/scheduler/tasks/{id}": async () => {
    const task = await created("/api/scheduler/tasks", fn("audit-updated"));
    const res = await api("PUT", `/api/scheduler/tasks/${task.id}`, { cronExpression: "0 * * * * *" });
    return { res, target: task.id, action: "task.update" };
  },
  "DELETE /api/scheduler/tasks/{id}": async () => {
    const task = await created("/api/scheduler/tasks", fn("audit-deleted"));
    const res = await api("DELETE", `/api/scheduler/tasks/${task.id}`);
    return { res, target: task.id, action: "task.delete" };
  },
  "POST /api/scheduler/tasks/{id}/trigger": async () => {
    const task = await created("/api/scheduler/tasks", fn("audit-run"));
    const res = await api("POST", `/api/scheduler/tasks/${task.id}/trigger`);
    return { res, target: task.id, action: "task.run", detail: { executionId: res.json?.data?.executionId } };
  },
  "POST /api/scheduler/tasks/{id}/toggle": async () => {
    const task = await created("/api/scheduler/tasks", fn("audit-toggled", { enabled: true }));
    const res = await api("POST", `/api/scheduler/tasks/${task.id}/toggle`, { enabled: false });
    return { res, target: task.id, action: "task.pause" };
  },
  "POST /api/scheduler/tasks/{id}/backfill": async () => {
    const task = await created("/api/scheduler/tasks", fn("audit-backfilled"));
    const to = Math.floor(Date.now() / 10000) * 10000;
    const res = await api("POST", `/api/scheduler/tasks/${task.id}/backfill`, { from: to - 30000, to });
    return { res, target: task.id, action: "task.backfill", detail: { from: to - 30000, to, count: 3 } };
  },
  "POST /api/scheduler/apply": async () => {
    const res = await api("POST", "/api/scheduler/apply", { tasks: [fn("audit-applied")] });
    return {
      res,
      target: res.json?.data?.created?.[0]?.id,
      action: "task.apply",
      detail: { change: "create" },
    };
  },
  "POST /api/scheduler/channels": async () => {
    const res = await api("POST", "/api/scheduler/channels", {
      name: "audit-hook",
      type: "webhook",
      url: receiver.url("/a"),
    });
    return { res, target: res.json?.data?.id, action: "channel.create" };
  },
  "PUT /api/scheduler/channels/{id}": async () => {
    const ch = await created("/api/scheduler/channels", {
      name: "audit-hook-2",
      type: "webhook",
      url: receiver.url("/b"),
    });
    const res = await api("PUT", `/api/scheduler/channels/${ch.id}`, { name: "audit-hook-2b" });
    return { res, target: ch.id, action: "channel.update" };
  },
  "DELETE /api/scheduler/channels/{id}": async () => {
    const ch = await created("/api/scheduler/channels", {
      name: "audit-hook-3",
      type: "webhook",
      url: receiver.url("/c"),
    });
    const res = await api("DELETE", `/api/scheduler/channels/${ch.id}`);
    return { res, target: ch.id, action: "channel.delete" };
  },
  "POST /api/scheduler/channels/{id}/test": async () => {
    const ch = await created("/api/scheduler/channels", {
      name: "audit-hook-4",
      type: "webhook",
      url: receiver.url("/d"),
    });
    const res = await api("POST", `/api/scheduler/channels/${ch.id}/test`);
    return { res, target: ch.id, action: "channel.test" };
  },
  "POST /api/scheduler/tokens": async () => {
    const res = await api("POST", "/api/scheduler/tokens", { name: "audit-made", role: "viewer" });
    return { res, target: res.json?.data?.id, action: "token.create", detail: { role: "viewer" } };
  },
  "DELETE /api/scheduler/tokens/{id}": async () => {
    const token = await created("/api/scheduler/tokens", { name: "audit-revoked", role: "operator" });
    const res = await api("DELETE", `/api/scheduler/tokens/${token.id}`);
    return { res, target: token.id, action: "token.revoke", detail: { role: "operator" } };
  },
};
// What changes nothing though it is not a GET.
const reads = new Set(["POST /api/scheduler/cron/preview"]);

test("each route that changes something records one entry, naming who, from where and what", async () => {
  const doc = (await api("GET", "/api/openapi.json")).json;
  const ops = Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([m]) => m !== "parameters")
      .map(([m, op]) => ({ where: `${m.toUpperCase()} ${path}`, audit: op["x-cronkit-audit"] ?? [] })),
  );
  for (const op of ops) {
    if (op.where.startsWith("GET ") || reads.has(op.where)) {
      assert.deepEqual(op.audit, [], `${op.where} records nothing`);
      continue;
    }
    assert.ok(op.audit.length > 0, `${op.where} changes something: it must name what it records`);
    assert.ok(op.where in calls, `${op.where} is in this test's table`);
  }
  assert.equal(Object.keys(calls).length, ops.filter((o) => o.audit.length > 0).length);

  for (const [where, call] of Object.entries(calls)) {
    let made;
    const { entries } = await recordedBy(async () => {
      // What the call needs first (a task to update...) is recorded too: only the call's own
      // entry is checked, by what it recorded after those.
      made = await call();
    });
    const { res, target, action, detail } = made;
    assert.ok(res.status >= 200 && res.status < 300, `${where}: ${res.status} ${res.text}`);
    const own = entries.filter((e) => e.action === action && e.targetId === target);
    assert.equal(own.length, 1, `${where} recorded ${JSON.stringify(entries)}`);
    assert.equal(entries.at(-1), own[0], `${where}: its entry is the last one`);
    const op = ops.find((o) => o.where === where);
    assert.ok(op.audit.includes(action), `${where} says it records ${action}`);
    const e = own[0];
    assert.equal(e.actor, "bootstrap");
    assert.equal(e.address, "127.0.0.1");
    assert.ok(e.targetName, `${where}: the target's name`);
    assert.ok(Math.abs(e.at - Date.now()) < 60000);
    if (detail) assert.deepEqual(e.detail, detail, where);
  }

  // Resuming is the toggle's other action.
  const task = await created("/api/scheduler/tasks", fn("audit-resumed"));
  const { entries } = await recordedBy(() =>
    api("POST", `/api/scheduler/tasks/${task.id}/toggle`, { enabled: true }),
  );
  assert.deepEqual(
    entries.map((e) => [e.action, e.targetId]),
    [["task.resume", task.id]],
  );
});

test("an update's entry names each changed field with its old and new value, secrets hidden", async () => {
  const task = await created("/api/scheduler/tasks", {
    name: "audit-http",
    cronExpression: "0 0 * * *",
    type: "http",
    httpUrl: receiver.url("/task"),
    httpHeaders: JSON.stringify({ Authorization: SECRET_VALUE, "X-Team": "ops" }),
    enabled: false,
  });
  const { entries } = await recordedBy(() =>
    api("PUT", `/api/scheduler/tasks/${task.id}`, {
      cronExpression: "0 1 * * *",
      httpHeaders: JSON.stringify({ Authorization: `${SECRET_VALUE}-2`, "X-Team": "ops" }),
      timeoutSeconds: 30,
    }),
  );
  assert.equal(entries.length, 1);
  const hidden = JSON.stringify({ Authorization: "<hidden>", "X-Team": "<hidden>" });
  assert.deepEqual(entries[0].changes, {
    cronExpression: { old: "0 0 * * *", new: "0 1 * * *" },
    httpHeaders: { old: hidden, new: hidden },
    timeoutSeconds: { old: task.timeoutSeconds, new: 30 },
  });
  const everything = JSON.stringify(await audit());
  assert.ok(!everything.includes("do-not-record-me"), "no secret in the audit trail");

  // A channel's secret that changed shows as changed, never as its value.
  const ch = await created("/api/scheduler/channels", {
    name: "audit-signed",
    type: "webhook",
    url: receiver.url("/signed"),
    secret: "0123456789abcdef-old",
  });
  const changed = await recordedBy(() =>
    api("PUT", `/api/scheduler/channels/${ch.id}`, { secret: "0123456789abcdef-new" }),
  );
  assert.deepEqual(changed.entries[0].changes, { secret: { old: "<hidden>", new: "<hidden>" } });
  assert.ok(!JSON.stringify(await audit()).includes("0123456789abcdef"));
});

test("a refused change records nothing; a refused token records one entry per address and actor", async () => {
  const task = await created("/api/scheduler/tasks", fn("audit-refused"));
  const viewer = await created("/api/scheduler/tokens", { name: "audit-viewer", role: "viewer" });
  const call = client(server.base);
  const { entries: none } = await recordedBy(async () => {
    assert.equal(
      (await api("PUT", `/api/scheduler/tasks/${task.id}`, { cronExpression: "bad" })).status,
      422,
    );
    assert.equal((await api("POST", "/api/scheduler/tasks", { name: "" })).status, 422);
    assert.equal((await api("POST", "/api/scheduler/channels", { name: "x" })).status, 422);
    assert.equal((await api("POST", "/api/scheduler/tasks/none/trigger")).status, 404);
    assert.equal((await api("DELETE", "/api/scheduler/tokens/none")).status, 404);
    assert.equal((await api("POST", "/api/scheduler/tasks/none/backfill", { from: 0, to: 1 })).status, 404);
    assert.equal((await api("POST", "/api/scheduler/apply", { tasks: [{ name: "x" }] })).status, 422);
  });
  assert.deepEqual(none, []);

  const { entries: refused } = await recordedBy(async () => {
    for (let i = 0; i < 3; i++) {
      const res = await call("DELETE", `/api/scheduler/tasks/${task.id}`, undefined, as(viewer.token));
      assert.equal(res.status, 403);
      assert.equal((await call("GET", "/api/scheduler/tasks", undefined, as("ck_wrong"))).status, 401);
      // No token at all is no login: a browser's first visit, a probe.
      assert.equal((await call("GET", "/api/scheduler/stats")).status, 401);
    }
  });
  assert.deepEqual(
    refused.map((e) => [e.action, e.actor, e.address, e.targetId]),
    [
      ["auth.forbidden", "audit-viewer", "127.0.0.1", null],
      ["auth.failed", "", "127.0.0.1", null],
    ],
    "the repeats within a minute are counted in the next entry, not recorded each",
  );
  assert.deepEqual(refused[0].detail, {
    route: "DELETE /api/scheduler/tasks/:id",
    needed: "admin",
    role: "viewer",
  });
  assert.deepEqual(refused[1].detail, {
    reason: "the token is not known",
    route: "GET /api/scheduler/tasks",
  });
  assert.ok((await api("GET", `/api/scheduler/tasks/${task.id}`)).status === 200, "the task is still there");
});

test("the trail is filtered by target, actor, action or kind and time, and only admins read it", async () => {
  const task = await created("/api/scheduler/tasks", fn("audit-filtered"));
  await api("POST", `/api/scheduler/tasks/${task.id}/toggle`, { enabled: true });
  const byTarget = await audit(`&target=${task.id}`);
  assert.deepEqual(
    byTarget.list.map((e) => e.action),
    ["task.resume", "task.create"],
  );
  assert.equal(byTarget.total, 2);
  const byName = await audit("&target=audit-filtered");
  assert.deepEqual(
    byName.list.map((e) => e.id),
    byTarget.list.map((e) => e.id),
  );
  const tokens = await audit("&action=token");
  assert.ok(tokens.list.length > 0 && tokens.list.every((e) => e.action.startsWith("token.")));
  const resumes = await audit("&action=task.resume&actor=bootstrap");
  assert.ok(resumes.list.every((e) => e.action === "task.resume"));
  assert.ok(resumes.list.some((e) => e.targetId === task.id));
  const at = byTarget.list[0].at;
  const window = await audit(`&target=${task.id}&from=${at}&to=${at + 1}`);
  assert.deepEqual(
    window.list.map((e) => e.action),
    ["task.resume"],
  );
  const paged = await api("GET", "/api/scheduler/audit?pageSize=1&page=2");
  assert.equal(paged.json.data.list.length, 1);
  assert.equal(paged.json.data.page, 2);

  for (const [query, field] of [
    ["action=bogus", "action"],
    ["action=task.bogus", "action"],
    ["from=yesterday", "from"],
    ["to=-1", "to"],
    ["pageSize=501", "pageSize"],
    ["who=me", "who"],
  ]) {
    const res = await api("GET", `/api/scheduler/audit?${query}`);
    assert.equal(res.status, 400, query);
    assert.equal(res.json.data[0].field, field, query);
  }
  const operator = await created("/api/scheduler/tokens", { name: "audit-operator", role: "operator" });
  const denied = await client(server.base)("GET", "/api/scheduler/audit", undefined, as(operator.token));
  assert.equal(denied.status, 403);
  assert.match(denied.json.message, /needs the admin role/);
});

test("behind a trusted proxy the client's address is recorded; from anyone else X-Forwarded-For is ignored", async () => {
  const spoofed = { "x-forwarded-for": "203.0.113.9" };
  const direct = await recordedBy(() => api("POST", "/api/scheduler/tasks", fn("audit-direct"), spoofed));
  assert.deepEqual(
    direct.entries.map((e) => e.address),
    ["127.0.0.1"],
  );

  const proxied = await startServer({
    env: { CRONKIT_API_TOKEN: BOOT },
    args: ["--trusted-proxy", "127.0.0.1/32", "--trusted-proxy", "10.0.0.0/8"],
  });
  try {
    const call = client(proxied.base);
    const made = await call("POST", "/api/scheduler/tasks", fn("audit-proxied"), {
      ...as(BOOT),
      "x-forwarded-for": "198.51.100.1, 203.0.113.9, 10.1.2.3",
    });
    assert.equal(made.status, 201, made.text);
    const trail = await call("GET", `/api/scheduler/audit?target=${made.json.data.id}`, undefined, as(BOOT));
    assert.deepEqual(
      trail.json.data.list.map((e) => [e.action, e.address]),
      [["task.create", "203.0.113.9"]],
      "the nearest address that is not a trusted proxy",
    );
  } finally {
    await proxied.stop();
  }
  const bad = spawnSync(defaultBinary(), ["serve", "--port", "0", "--trusted-proxy", "proxy.internal"], {
    encoding: "utf8",
    env: { ...process.env, CRONKIT_CONFIG: "/dev/null" },
  });
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /--trusted-proxy: .*must be an address \(127\.0\.0\.1\) or a range/);
});
