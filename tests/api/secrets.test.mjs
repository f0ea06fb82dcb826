// Secrets in task definitions — HTTP headers' values and body, a command's environment
// values and input — are hidden from viewers and operators wherever a definition appears
// (the list, a task, a pause's answer, the export, the event stream, the log), shown to
// admins, and a definition read as hidden and written back leaves them as they are.
import { test } from "node:test";
import assert from "node:assert/strict";
import { eventually, listenEvents, serverForFile } from "./server.mjs";

const BOOT = "secrets-bootstrap-token-0123456789";
const t = serverForFile({
  env: { CRONKIT_API_TOKEN: BOOT },
  args: ["--allow-commands", "--log-level", "debug"],
});
const as = (token) => ({ authorization: `Bearer ${token}` });
const admin = (method, path, body) => t.api(method, path, body, as(BOOT));
const SECRETS = ["Bearer s3cret-header", "pw=hunter2-body", "pg-pass-s3cret", "stdin-s3cret"];

const httpTask = {
  name: "secret http",
  type: "http",
  cronExpression: "0 0 1 1 *",
  httpMethod: "POST",
  httpUrl: "http://127.0.0.1:9/hook",
  httpHeaders: JSON.stringify({ Authorization: "Bearer s3cret-header", "X-Trace": "on" }),
  httpBody: "pw=hunter2-body",
  tags: ["secret"],
};
const commandTask = {
  name: "secret command",
  type: "command",
  cronExpression: "0 0 1 1 *",
  command: ["/bin/cat"],
  environment: { PGPASSWORD: "pg-pass-s3cret", LANG: "C.UTF-8" },
  commandInput: "stdin-s3cret",
  tags: ["secret"],
};

async function setup() {
  const tokens = {};
  for (const role of ["viewer", "operator"]) {
    const res = await admin("POST", "/api/scheduler/tokens", { name: `secrets-${role}`, role });
    tokens[role] = res.json.data.token;
  }
  const http = (await admin("POST", "/api/scheduler/tasks", httpTask)).json.data;
  const command = (await admin("POST", "/api/scheduler/tasks", commandTask)).json.data;
  assert.ok(http.id && command.id);
  return { tokens, http, command };
}

const noSecret = (text, where) => {
  for (const s of SECRETS) assert.ok(!text.includes(s), `${where} holds ${s}`);
};

test("viewers and operators see every secret as <hidden>; admins see it", async () => {
  const { tokens, http, command } = await setup();
  for (const [role, token] of Object.entries(tokens)) {
    const read = (path) => t.api("GET", path, undefined, as(token));
    const list = await read("/api/scheduler/tasks?tag=secret");
    assert.equal(list.status, 200);
    noSecret(list.text, `${role}: the list`);
    const byName = Object.fromEntries(list.json.data.list.map((x) => [x.name, x]));
    assert.deepEqual(JSON.parse(byName["secret http"].httpHeaders), {
      Authorization: "<hidden>",
      "X-Trace": "<hidden>",
    });
    assert.equal(byName["secret http"].httpBody, "<hidden>");
    assert.deepEqual(byName["secret command"].environment, { PGPASSWORD: "<hidden>", LANG: "<hidden>" });
    assert.equal(byName["secret command"].commandInput, "<hidden>");
    assert.deepEqual(byName["secret command"].command, ["/bin/cat"], "what is not secret is shown");

    for (const id of [http.id, command.id]) {
      const one = await read(`/api/scheduler/tasks/${id}`);
      assert.equal(one.status, 200);
      noSecret(one.text, `${role}: a task`);
    }
    const exported = await read("/api/scheduler/export?tag=secret");
    assert.equal(exported.status, 200);
    noSecret(exported.text, `${role}: the export`);
    assert.equal(exported.json.data.tasks.find((x) => x.name === "secret http").httpBody, "<hidden>");
  }
  const paused = await t.api(
    "POST",
    `/api/scheduler/tasks/${http.id}/toggle`,
    { enabled: false },
    as(tokens.operator),
  );
  assert.equal(paused.status, 200);
  noSecret(paused.text, "an operator's pause");
  await admin("POST", `/api/scheduler/tasks/${http.id}/toggle`, { enabled: true });

  const mine = await admin("GET", "/api/scheduler/tasks?tag=secret");
  for (const s of SECRETS)
    assert.ok(mine.text.includes(JSON.stringify(s).slice(1, -1)), `an admin sees ${s}`);
  const exported = await admin("GET", "/api/scheduler/export?tag=secret");
  assert.equal(exported.json.data.tasks.find((x) => x.name === "secret http").httpBody, "pw=hunter2-body");
});

test("the event stream carries no secret, and the log none at debug level", async () => {
  const res = await admin("POST", "/api/scheduler/tokens", { name: "secrets-events", role: "viewer" });
  const events = listenEvents(t.server.base, { headers: as(res.json.data.token) });
  await events.ready;
  const created = await admin("POST", "/api/scheduler/tasks", { ...httpTask, name: "evented" });
  await admin("PUT", `/api/scheduler/tasks/${created.json.data.id}`, { httpBody: "pw=hunter2-body" });
  await eventually(
    () => events.events.some((e) => e.event === "task.updated" && e.data.id === created.json.data.id),
    5000,
    "the update's event",
  );
  events.stop();
  assert.ok(events.events.some((e) => e.event === "task.created"));
  noSecret(events.events.map((e) => e.text).join("\n"), "the event stream");
  await t.server.settleLog();
  noSecret(t.server.log(), "the log");
});

test("a definition read as hidden and written back leaves the secrets as they are", async () => {
  // The tasks of the first test.
  const viewer = (await admin("POST", "/api/scheduler/tokens", { name: "secrets-roundtrip", role: "viewer" }))
    .json.data.token;
  const list = (await admin("GET", "/api/scheduler/tasks?tag=secret")).json.data.list;
  const http = list.find((x) => x.name === "secret http");
  const command = list.find((x) => x.name === "secret command");
  const seen = (await t.api("GET", `/api/scheduler/tasks/${http.id}`, undefined, as(viewer))).json.data.task;

  // Written back whole as read: nothing changes.
  const back = await admin("PUT", `/api/scheduler/tasks/${http.id}`, {
    httpHeaders: seen.httpHeaders,
    httpBody: seen.httpBody,
  });
  assert.equal(back.status, 200, back.text);
  assert.equal(back.json.data.httpHeaders, http.httpHeaders, "the stored text itself");
  assert.equal(back.json.data.httpBody, "pw=hunter2-body");

  // One header changed, the other still hidden: only that one changes.
  const one = await admin("PUT", `/api/scheduler/tasks/${http.id}`, {
    httpHeaders: JSON.stringify({ Authorization: "<hidden>", "X-Trace": "off" }),
  });
  assert.equal(one.status, 200, one.text);
  assert.deepEqual(JSON.parse(one.json.data.httpHeaders), {
    Authorization: "Bearer s3cret-header",
    "X-Trace": "off",
  });

  const env = await admin("PUT", `/api/scheduler/tasks/${command.id}`, {
    environment: { PGPASSWORD: "<hidden>", LANG: "C.UTF-8", NEW: "1" },
    commandInput: "<hidden>",
  });
  assert.equal(env.status, 200, env.text);
  assert.deepEqual(env.json.data.environment, { PGPASSWORD: "pg-pass-s3cret", LANG: "C.UTF-8", NEW: "1" });
  assert.equal(env.json.data.commandInput, "stdin-s3cret");

  // <hidden> where nothing is stored is refused, naming the field.
  const missing = await admin("PUT", `/api/scheduler/tasks/${http.id}`, {
    httpHeaders: JSON.stringify({ "X-New": "<hidden>" }),
  });
  assert.equal(missing.status, 422);
  assert.equal(missing.json.data[0].field, "httpHeaders.X-New");
  const fresh = await admin("POST", "/api/scheduler/tasks", {
    ...httpTask,
    name: "fresh",
    httpBody: "<hidden>",
  });
  assert.equal(fresh.status, 422);
  assert.deepEqual(
    fresh.json.data.map((e) => e.field),
    ["httpBody"],
  );

  // A viewer's export applied by an admin changes nothing.
  const exported = (await t.api("GET", "/api/scheduler/export?tag=secret", undefined, as(viewer))).json.data;
  const applied = await admin("POST", "/api/scheduler/apply", {
    tasks: exported.tasks,
    selector: ["secret"],
  });
  assert.equal(applied.status, 200, applied.text);
  assert.deepEqual(applied.json.data.updated, []);
  assert.equal(applied.json.data.unchanged.length, exported.tasks.length);
  const after = (await admin("GET", `/api/scheduler/tasks/${command.id}`)).json.data.task;
  assert.equal(after.environment.PGPASSWORD, "pg-pass-s3cret");
  // As a new task, a hidden value has nothing behind it.
  const renamed = exported.tasks.map((x) => ({ ...x, name: `${x.name} copy` }));
  const copy = await admin("POST", "/api/scheduler/apply", { tasks: renamed, selector: ["secret"] });
  assert.equal(copy.status, 422);
  assert.ok(copy.json.data.some((e) => /^tasks\[\d\]\.httpBody$/.test(e.field)));
});
