// The command-line client against real servers over loopback: every command, with and
// without the token, --output json parsed against the API, the exit codes, an unreachable
// server, `executions follow` receiving an execution, and tasks as code: a YAML file with
// every field of every type applied, exported, applied to an empty server and exported
// again, byte for byte.
import { spawn } from "node:child_process";
import { writeFileSync, readFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { client, eventually, startServer } from "./server.mjs";
import { defaultBinary, root } from "../support/harness.mjs";

const TOKEN = "cli-test-token-0123456789abcdef";
const work = mkdtempSync(join(tmpdir(), "cronkit-cli-"));
const everyField = join(root, "tests/fixtures/tasks-every-field.yaml");
let server;
let api;

before(async () => {
  server = await startServer({ args: ["--allow-commands", "--api-token", TOKEN] });
  api = client(server.base);
});
after(async () => server?.stop());

const authed = (method, path, body) => api(method, path, body, { Authorization: `Bearer ${TOKEN}` });

// Runs `cronkit ARGS` to its end: {code, stdout, stderr}. The server and token come from
// the environment unless `env` says otherwise.
function cli(args, { env = {}, input } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(defaultBinary(), args, {
      env: { ...process.env, CRONKIT_SERVER: server.base, CRONKIT_API_TOKEN: TOKEN, NO_COLOR: "1", ...env },
      stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    if (input !== undefined) {
      child.stdin.on("error", () => {}); // a command that stops before reading: EPIPE
      child.stdin.end(input);
    }
  });
}

function file(name, text) {
  const path = join(work, name);
  writeFileSync(path, text);
  return path;
}

const fnTask = `name: cli task
type: function
functionName: cleanup-logs
cronExpression: "0 0 3 * * *"
timezone: Europe/Berlin
tags: [team:cli]
`;

test("the token: refused without it (exit 4), taken from --token or the environment, never printed", async () => {
  const none = await cli(["stats"], { env: { CRONKIT_API_TOKEN: "" } });
  assert.equal(none.code, 4, none.stderr);
  assert.match(none.stderr, /authentication required.*--token or CRONKIT_API_TOKEN/);
  const wrong = await cli(["stats", "--token", "wrong"]);
  assert.equal(wrong.code, 4);
  const flag = await cli(["stats", "--token", TOKEN], { env: { CRONKIT_API_TOKEN: "" } });
  assert.equal(flag.code, 0, flag.stderr);
  const env = await cli(["stats", "--output", "json"]);
  assert.equal(env.code, 0);
  assert.deepEqual(JSON.parse(env.stdout), (await authed("GET", "/api/scheduler/stats")).json.data);
  for (const r of [none, wrong, flag, env]) assert.ok(!(r.stdout + r.stderr).includes(TOKEN));
});

test("tasks: create, list, get, update, run, pause, resume, delete; json output is the API's data", async () => {
  const created = await cli(["tasks", "create", "-f", file("task.yaml", fnTask)]);
  assert.equal(created.code, 0, created.stderr);
  const id = /\(([0-9a-f-]{36})\)/.exec(created.stdout)[1];

  const table = await cli(["tasks", "list", "--tag", "team:cli"]);
  assert.equal(table.code, 0);
  const [header, row] = table.stdout.split("\n");
  assert.match(header, /^NAME +TYPE +SCHEDULE +STATUS +NEXT RUN +LAST +TAGS +ID$/);
  assert.match(
    row,
    /^cli task +function +0 0 3 \* \* \* Europe\/Berlin +active +in \d+h( \d+m)? +- +team:cli +[0-9a-f-]{36}$/,
  );
  const listed = JSON.parse((await cli(["tasks", "list", "--tag", "team:cli", "-o", "json"])).stdout);
  const fromApi = (await authed("GET", "/api/scheduler/tasks?page=1&pageSize=100&tag=team:cli")).json.data;
  assert.deepEqual(
    listed.list.map((t) => [t.id, t.name, t.tags]),
    fromApi.list.map((t) => [t.id, t.name, t.tags]),
  );
  assert.equal(listed.total, 1);

  const byName = await cli(["tasks", "get", "cli task"]);
  assert.equal(byName.code, 0, byName.stderr);
  assert.match(byName.stdout, new RegExp(`^Id +${id}$`, "m"));
  assert.match(byName.stdout, /^Schedule +0 0 3 \* \* \* \(Europe\/Berlin\)$/m);
  assert.match(byName.stdout, /^Next run +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(in .*\)$/m);
  const json = JSON.parse((await cli(["tasks", "get", id, "-o", "json"])).stdout);
  assert.equal(json.task.id, id);
  assert.deepEqual(json.recentExecutions, []);

  const updated = await cli(["tasks", "update", "cli task", "-f", file("change.json", '{"maxRetries": 4}')]);
  assert.equal(updated.code, 0, updated.stderr);
  assert.equal((await authed("GET", `/api/scheduler/tasks/${id}`)).json.data.task.maxRetries, 4);

  const run = await cli(["tasks", "run", id]);
  assert.equal(run.code, 0);
  const executionId = /queued execution ([0-9a-f-]{36})/.exec(run.stdout)[1];
  await eventually(
    async () =>
      (await authed("GET", `/api/scheduler/executions/${executionId}`)).json.data.status === "success",
  );
  const execution = await cli(["executions", "get", executionId]);
  assert.match(execution.stdout, /^Status +success$/m);
  assert.match(execution.stdout, /^Trigger +manual$/m);
  const executions = JSON.parse(
    (await cli(["executions", "list", "--task", "cli task", "-o", "json"])).stdout,
  );
  assert.deepEqual(
    executions.list.map((e) => e.id),
    [executionId],
  );
  assert.match((await cli(["executions", "list", "--task", id])).stdout, /manual/);

  assert.equal((await cli(["tasks", "pause", "cli task", "--note", "vendor down"])).code, 0);
  let task = (await authed("GET", `/api/scheduler/tasks/${id}`)).json.data.task;
  assert.deepEqual([task.enabled, task.pausedNote], [false, "vendor down"]);
  assert.match((await cli(["tasks", "get", id])).stdout, /^Status +paused: vendor down$/m);
  assert.equal((await cli(["tasks", "resume", id])).code, 0);
  task = (await authed("GET", `/api/scheduler/tasks/${id}`)).json.data.task;
  assert.equal(task.enabled, true);

  const deleted = await cli(["tasks", "delete", "cli task"]);
  assert.equal(deleted.code, 0);
  assert.equal((await authed("GET", `/api/scheduler/tasks/${id}`)).status, 404);
});

test("exit codes: not found 5, refused 1 naming each field, usage 2, unreachable 3, ambiguous name 6", async () => {
  const missing = await cli(["tasks", "get", "no such task"]);
  assert.equal(missing.code, 5);
  assert.match(missing.stderr, /no task has the id or name "no such task"/);
  assert.equal((await cli(["executions", "get", "01a23562-0000-7000-8000-000000000000"])).code, 5);

  const bad = await cli(["tasks", "create", "-f", "-"], {
    input:
      '{"name": "x", "type": "function", "functionName": "cleanup-logs", "cronExpression": "0 0 25 * * *", "maxRetries": -1}',
  });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /cronExpression: hour: 25 is out of range 0-23/);
  assert.match(bad.stderr, /maxRetries: must be between 0 and 100/);

  assert.equal((await cli(["tasks"])).code, 2);
  assert.equal((await cli(["tasks", "list", "--type", "nope"])).code, 2);
  assert.equal((await cli(["apply"])).code, 2, "-f is required");
  assert.equal((await cli(["apply", "-f", join(work, "missing.yaml")])).code, 2);
  assert.equal((await cli(["apply", "-f", everyField, "--prune"])).code, 2, "--prune needs --selector");

  const down = await cli(["stats"], { env: { CRONKIT_SERVER: "http://127.0.0.1:1" } });
  assert.equal(down.code, 3);
  assert.match(down.stderr, /cannot reach the server at http:\/\/127\.0\.0\.1:1/);

  await authed("POST", "/api/scheduler/tasks", {
    name: "twin",
    type: "function",
    functionName: "cleanup-logs",
    cronExpression: "@yearly",
  });
  await authed("POST", "/api/scheduler/tasks", {
    name: "twin",
    type: "function",
    functionName: "cleanup-logs",
    cronExpression: "@yearly",
  });
  const twins = await cli(["tasks", "get", "twin"]);
  assert.equal(twins.code, 6);
  assert.match(twins.stderr, /2 tasks are named "twin": give one's id/);
  const applied = await cli([
    "apply",
    "-f",
    file(
      "twin.yaml",
      "- name: twin\n  type: function\n  functionName: cleanup-logs\n  cronExpression: '@yearly'\n",
    ),
  ]);
  assert.equal(applied.code, 6);
  assert.match(applied.stderr, /names that match several tasks/);
});

test("tasks run --wait ends with the run: 0 when it succeeded, 8 when it did not", async () => {
  const ok = await cli(["tasks", "create", "-f", file("wait.yaml", fnTask.replace("cli task", "waited"))]);
  assert.equal(ok.code, 0, ok.stderr);
  const done = await cli(["tasks", "run", "waited", "--wait"]);
  assert.equal(done.code, 0, done.stderr);
  assert.match(done.stdout, /^Status +success$/m);
  const failing = {
    name: "refused target",
    type: "http",
    cronExpression: "@yearly",
    httpUrl: "http://127.0.0.1:1/",
  };
  assert.equal((await authed("POST", "/api/scheduler/tasks", failing)).status, 201);
  const failed = await cli(["tasks", "run", "refused target", "--wait", "-o", "json"]);
  assert.equal(failed.code, 8, failed.stderr);
  assert.equal(JSON.parse(failed.stdout).status, "failed");
  assert.match(failed.stderr, /the run ended failed/);
});

test("executions follow prints an execution as it happens", async () => {
  const task = (
    await authed("POST", "/api/scheduler/tasks", {
      name: "followed",
      type: "function",
      functionName: "cleanup-logs",
      cronExpression: "@yearly",
    })
  ).json.data;
  const child = spawn(
    defaultBinary(),
    ["executions", "follow", "--task", "followed", "--count", "1", "-o", "json"],
    {
      env: { ...process.env, CRONKIT_SERVER: server.base, CRONKIT_API_TOKEN: TOKEN },
    },
  );
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  const exited = new Promise((resolve) => child.on("close", resolve));
  // Runs until the follower, once connected, has seen one: it exits after its first event.
  let done = false;
  exited.then(() => (done = true));
  await eventually(
    async () => {
      if (!done) await authed("POST", `/api/scheduler/tasks/${task.id}/trigger`);
      return done;
    },
    15000,
    "follow to receive an event",
    300,
  );
  assert.equal(await exited, 0);
  const event = JSON.parse(out.trim().split("\n")[0]);
  assert.match(event.event, /^execution\./);
  assert.equal(event.data.taskId, task.id);
});

test("apply and export: every field of every type round-trips byte for byte through an empty server", async () => {
  const channel = { name: "ops hook", type: "webhook", url: "http://127.0.0.1:9/hook" };
  assert.equal((await authed("POST", "/api/scheduler/channels", channel)).status, 201);
  const dry = await cli(["apply", "-f", everyField, "--selector", "team:payments", "--dry-run"]);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /^\+ create {2}nightly cleanup$/m);
  assert.match(dry.stdout, /dry run, nothing changed: 3 to create/);
  assert.equal((await authed("GET", "/api/scheduler/tasks?tag=team:payments")).json.data.total, 0);

  const applied = await cli(["apply", "-f", everyField, "--selector", "team:payments", "--prune"]);
  assert.equal(applied.code, 0, applied.stderr);
  assert.match(applied.stdout, /applied: 3 created, 0 updated, 0 deleted, 0 unchanged/);
  const again = await cli(["apply", "-f", everyField, "--selector", "team:payments", "-o", "json"]);
  assert.deepEqual(JSON.parse(again.stdout).unchanged.length, 3);

  const yaml = await cli(["export", "--selector", "team:payments"]);
  assert.equal(yaml.code, 0, yaml.stderr);
  assert.match(yaml.stdout, /^ {4}command: \["\/bin\/sh", "-c", "echo \\"\$GREETING\\" && cat"\]$/m);
  const json = await cli(["export", "--selector", "team:payments", "--format", "json"]);
  assert.deepEqual(
    JSON.parse(json.stdout).tasks,
    (await authed("GET", "/api/scheduler/export?tag=team:payments")).json.data.tasks,
  );
  const exported = file("exported.yaml", yaml.stdout);

  // An update shows its fields, and prune deletes only the selector's tasks.
  const edited = readFileSync(everyField, "utf8").replace(
    'cronExpression: "@hourly"',
    'cronExpression: "@daily"',
  );
  const changed = await cli([
    "apply",
    "-f",
    file("edited.yaml", edited),
    "--selector",
    "team:payments",
    "--dry-run",
  ]);
  assert.match(changed.stdout, /^~ update {2}report upload\n {6}cronExpression: "@hourly" → "@daily"$/m);

  const other = await startServer({ args: ["--allow-commands", "--api-token", TOKEN] });
  try {
    const env = { CRONKIT_SERVER: other.base };
    await client(other.base)(
      "POST",
      "/api/scheduler/channels",
      { ...channel, url: "http://127.0.0.1:9/other" },
      {
        Authorization: `Bearer ${TOKEN}`,
      },
    );
    const there = await cli(["apply", "-f", exported], { env });
    assert.equal(there.code, 0, there.stderr);
    const back = await cli(["export"], { env });
    assert.equal(back.stdout, yaml.stdout, "export -> apply -> export is the same document");
    const backJson = await cli(["export", "--format", "json", "--to", join(work, "back.json")], { env });
    assert.equal(backJson.code, 0);
    assert.equal(readFileSync(join(work, "back.json"), "utf8"), json.stdout);
    const fromJson = await cli(["apply", "-f", join(work, "back.json")], { env });
    assert.match(fromJson.stdout, /0 created, 0 updated, 0 deleted, 3 unchanged/);
  } finally {
    await other.stop();
  }
});

test("file errors name the file, line and column; refused specs their file and line", async () => {
  const syntax = await cli(["apply", "-f", file("syntax.yaml", "tasks:\n  - name: x\n    tags: [a, b\n")]);
  assert.equal(syntax.code, 1);
  assert.match(syntax.stderr, /syntax\.yaml:\d+:\d+: /);
  const twice = await cli(["apply", "-f", file("twice.yaml", "- name: x\n  name: y\n")]);
  assert.match(twice.stderr, /twice\.yaml:2:3: "name" is given twice/);
  const jsonError = await cli(["apply", "-f", file("broken.json", '{"tasks": [\n  {"name": }\n]}')]);
  assert.equal(jsonError.code, 1);
  assert.match(jsonError.stderr, /broken\.json:2:\d+: /);

  const good = fnTask.replace("cli task", "fine");
  const bad =
    "- name: broken\n  type: function\n  functionName: cleanup-logs\n  timezone: UTC\n  cronExpression: '0 0 25 * * *'\n";
  const refused = await cli(["apply", "-f", file("good.yaml", good), "-f", file("bad.yaml", bad)]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /bad\.yaml:5: broken: cronExpression: hour: 25 is out of range 0-23/);
  assert.equal((await authed("GET", "/api/scheduler/tasks?name=fine")).json.data.total, 0, "nothing applied");
});

test("tokens: create prints the token once, list never shows it, a viewer is refused with exit 9, revoke by name", async () => {
  const created = await cli([
    "tokens",
    "create",
    "--name",
    "cli-viewer",
    "--role",
    "viewer",
    "--expires",
    "90d",
  ]);
  assert.equal(created.code, 0, created.stderr);
  const token = created.stdout.trim();
  assert.match(token, /^ck_[A-Za-z0-9_-]{43}$/);
  assert.match(created.stderr, /token cli-viewer \(viewer\), expires .*: it is not shown again/);

  const whoami = await cli(["whoami"], { env: { CRONKIT_API_TOKEN: token } });
  assert.equal(whoami.stdout, "cli-viewer (viewer)\n");
  const asJson = await cli(["whoami", "-o", "json"]);
  assert.deepEqual(JSON.parse(asJson.stdout), { actor: "bootstrap", role: "admin", authRequired: true });

  const list = await cli(["tokens", "list"]);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^NAME +ROLE +STATUS +CREATED +BY +EXPIRES +LAST USED +ID\n/);
  assert.match(list.stdout, /\ncli-viewer +viewer +active +\S+ \S+ +bootstrap +\S+ \S+ +\S+ \S+ +\S+\n/);
  assert.ok(!list.stdout.includes(token));
  const listed = JSON.parse((await cli(["tokens", "list", "-o", "json"])).stdout);
  const record = listed.find((x) => x.name === "cli-viewer");
  const days = (record.expiresAt - record.createdAt) / 86400000;
  assert.ok(days > 89.99 && days <= 90.01, `expires in ${days} days`);

  const refused = await cli(["tasks", "create", "-f", file("viewer.yaml", fnTask)], {
    env: { CRONKIT_API_TOKEN: token },
  });
  assert.equal(refused.code, 9, refused.stderr);
  assert.match(refused.stderr, /this needs the admin role; cli-viewer has viewer/);
  assert.equal((await cli(["tasks", "list"], { env: { CRONKIT_API_TOKEN: token } })).code, 0);

  const bad = await cli(["tokens", "create", "--name", "x", "--role", "viewer", "--expires", "soon"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--expires: "soon" is not a time such as 30m, 12h, 90d or 2w/);

  const revoked = await cli(["tokens", "revoke", "cli-viewer"]);
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.match(revoked.stdout, /^revoked token cli-viewer \(/);
  assert.equal((await cli(["whoami"], { env: { CRONKIT_API_TOKEN: token } })).code, 4);
  assert.equal((await cli(["tokens", "revoke", "cli-viewer"])).code, 5, "no token not revoked has the name");
  assert.match((await cli(["tokens", "list"])).stdout, /\ncli-viewer +viewer +revoked /);
});

test("audit: list shows who did what; export writes every entry as a JSON line, filtered", async () => {
  // Made here: a token, a request it may not make, and its revocation.
  const made = await cli(["tokens", "create", "--name", "cli-audited", "--role", "operator"]);
  assert.equal(made.code, 0, made.stderr);
  const forbidden = await cli(["tasks", "create", "-f", file("operator.yaml", fnTask)], {
    env: { CRONKIT_API_TOKEN: made.stdout.trim() },
  });
  assert.equal(forbidden.code, 9, forbidden.stderr);
  assert.equal((await cli(["tokens", "revoke", "cli-audited"])).code, 0);

  const list = await cli(["audit", "list", "--target", "cli-audited"]);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^AT +ACTOR +ADDRESS +ACTION +TARGET +WHAT\n/);
  assert.match(
    list.stdout,
    /\n\S+ \S+ +bootstrap +127\.0\.0\.1 +token\.revoke +cli-audited +\{"role":"operator"\}\n/,
  );
  assert.match(
    list.stdout,
    /\n\S+ \S+ +bootstrap +127\.0\.0\.1 +token\.create +cli-audited +\{"role":"operator"\}\n$/,
  );

  const exported = await cli(["audit", "export"]);
  assert.equal(exported.code, 0, exported.stderr);
  const lines = exported.stdout.trimEnd().split("\n");
  const entries = lines.map((line) => JSON.parse(line));
  const all = (await authed("GET", "/api/scheduler/audit?pageSize=500")).json.data;
  assert.deepEqual(
    entries,
    all.list.filter((e) => e.at <= entries[0].at),
    "every entry, newest first",
  );
  assert.ok(entries.some((e) => e.action === "auth.forbidden" && e.actor === "cli-audited"));

  const tokensOnly = await cli(["audit", "export", "--action", "token", "--since", "1h"]);
  const actions = new Set(
    tokensOnly.stdout
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l).action),
  );
  assert.deepEqual([...actions].sort(), ["token.create", "token.revoke"]);

  const refused = await cli(["audit", "list", "--action", "nonsense"]);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /action/);
});
