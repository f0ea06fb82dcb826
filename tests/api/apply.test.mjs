// Tasks as code over the API: POST /api/scheduler/apply plans creates, updates, unchanged
// tasks and (with prune, only among the selector's tasks) deletes, and writes the plan in
// one transaction or not at all; GET /api/scheduler/export writes the tasks as an apply
// takes them, so that export -> apply elsewhere -> export is the same document.
import { createHash } from "node:crypto";
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { client, eventually, listenEvents, startServer } from "./server.mjs";

let server; // --allow-commands: command tasks are part of every field of every type
let api;
before(async () => {
  server = await startServer({ args: ["--allow-commands", "--insecure"] });
  api = client(server.base);
});
after(async () => server?.stop());

const yearly = "0 0 0 1 1 *"; // fires on New Year only: nothing runs during the tests

function spec(name, extra = {}) {
  return { name, cronExpression: yearly, type: "function", functionName: "cleanup-logs", ...extra };
}

async function apply(body, expected = 200) {
  const res = await api("POST", "/api/scheduler/apply", body);
  assert.equal(res.status, expected, res.text);
  return res.json.data;
}

async function tasksNamed(prefix) {
  const res = await api("GET", `/api/scheduler/tasks?pageSize=500&name=${encodeURIComponent(prefix)}`);
  return res.json.data.list.sort((a, b) => a.name.localeCompare(b.name));
}

const names = (entries) => entries.map((e) => e.name).sort();

test("plans create, update (the changed fields), unchanged and delete; prune keeps to the selector", async () => {
  const team = ["team:plan"];
  const other = await api("POST", "/api/scheduler/tasks", spec("plan other team", { tags: ["team:other"] }));
  assert.equal(other.status, 201);
  const first = await apply({
    tasks: [spec("plan a", { tags: team }), spec("plan b", { tags: team }), spec("plan c", { tags: team })],
    prune: true,
    selector: team,
  });
  assert.deepEqual(names(first.created), ["plan a", "plan b", "plan c"]);
  assert.ok(first.created.every((c) => /^[0-9a-f-]{36}$/.test(c.id)));
  assert.deepEqual([first.updated, first.unchanged, first.deleted], [[], [], []]);
  assert.equal(first.dryRun, false);

  const second = await apply({
    tasks: [
      spec("plan a", { tags: team }),
      spec("plan b", { tags: team, cronExpression: "0 0 0 1 2 *", maxRetries: 3 }),
      spec("plan d", { tags: team }),
    ],
    prune: true,
    selector: team,
  });
  assert.deepEqual(names(second.created), ["plan d"]);
  assert.deepEqual(names(second.unchanged), ["plan a"]);
  assert.deepEqual(names(second.deleted), ["plan c"]);
  assert.equal(second.updated.length, 1);
  assert.deepEqual(second.updated[0].changes, [
    { field: "cronExpression", from: yearly, to: "0 0 0 1 2 *" },
    { field: "maxRetries", from: 0, to: 3 },
  ]);
  const now = await tasksNamed("plan ");
  assert.deepEqual(
    now.map((t) => t.name),
    ["plan a", "plan b", "plan d", "plan other team"],
  );
  assert.equal(now.find((t) => t.name === "plan b").maxRetries, 3);
  assert.ok(now.find((t) => t.name === "plan d").nextRun > Date.now(), "scheduled at once");
  // The update kept the task: same id, its creation time.
  assert.equal(now.find((t) => t.name === "plan b").id, first.created.find((c) => c.name === "plan b").id);

  // Without prune nothing is deleted; an empty list with prune empties the selector's tasks.
  assert.deepEqual((await apply({ tasks: [], selector: team })).deleted, []);
  const emptied = await apply({ tasks: [], prune: true, selector: team });
  assert.deepEqual(names(emptied.deleted), ["plan a", "plan b", "plan d"]);
  assert.deepEqual(
    (await tasksNamed("plan ")).map((t) => t.name),
    ["plan other team"],
  );
});

test("a second identical apply changes nothing: no write, no updatedAt moved, no event", async () => {
  const body = {
    tasks: [spec("same a", { tags: ["team:same"], maxRuns: 5 }), spec("same b", { enabled: false })],
  };
  await apply(body);
  const before = await tasksNamed("same ");
  const stream = listenEvents(server.base);
  await stream.ready;
  const again = await apply(body);
  assert.deepEqual(names(again.unchanged), ["same a", "same b"]);
  assert.deepEqual([again.created, again.updated, again.deleted], [[], [], []]);
  // An event after the apply, through the same stream: any event of the apply came first.
  const marker = await api("POST", "/api/scheduler/tasks", spec("marker after same"));
  await eventually(() => stream.events.some((e) => e.data.id === marker.json.data.id));
  stream.stop();
  assert.deepEqual(
    stream.events.filter((e) => e.data.id !== marker.json.data.id),
    [],
    "the apply announced nothing",
  );
  assert.deepEqual(await tasksNamed("same "), before);
});

test("a dry run answers the plan and leaves the database as it was, byte for byte", async () => {
  await apply({ tasks: [spec("dry a", { tags: ["team:dry"] }), spec("dry b", { tags: ["team:dry"] })] });
  const files = ["cronkit.db", "cronkit.db-wal"].map((f) => join(server.dir, f)).filter(existsSync);
  const digest = () => files.map((f) => createHash("sha256").update(readFileSync(f)).digest("hex")).join();
  const before = digest();
  const plan = await apply({
    tasks: [spec("dry a", { tags: ["team:dry"], timeoutSeconds: 9 }), spec("dry c", { tags: ["team:dry"] })],
    prune: true,
    selector: ["team:dry"],
    dryRun: true,
  });
  assert.equal(plan.dryRun, true);
  assert.deepEqual(plan.created, [{ name: "dry c", id: null }]);
  assert.deepEqual(plan.updated[0].changes, [{ field: "timeoutSeconds", from: 300, to: 9 }]);
  assert.deepEqual(names(plan.deleted), ["dry b"]);
  assert.equal(digest(), before);
  assert.deepEqual(
    (await tasksNamed("dry ")).map((t) => [t.name, t.timeoutSeconds]),
    [
      ["dry a", 300],
      ["dry b", 300],
    ],
  );
});

test("all or nothing: one bad spec in ten refuses the apply, naming its index and field", async () => {
  const total = async () => (await api("GET", "/api/scheduler/tasks")).json.data.total;
  const before = await total();
  const specs = Array.from({ length: 10 }, (_, i) => spec(`whole ${i}`));
  specs[6].cronExpression = "0 0 25 * * *";
  specs[8].timezone = "Nowhere/City";
  const res = await api("POST", "/api/scheduler/apply", { tasks: specs });
  assert.equal(res.status, 422);
  assert.deepEqual(
    res.json.data.map((e) => [e.index, e.field]),
    [
      [6, "tasks[6].cronExpression"],
      [8, "tasks[8].timezone"],
    ],
  );
  assert.match(res.json.data[0].message, /hour: 25 is out of range/);
  assert.equal(await total(), before);
  // A failure found only against the stored tasks (a task that made its maxRuns and paused
  // itself, resumed by the apply) also writes nothing.
  const limited = spec("whole limited", { cronExpression: "* * * * * *", maxRuns: 1 });
  const made = (await apply({ tasks: [limited] })).created[0];
  await eventually(
    async () => {
      const task = (await api("GET", `/api/scheduler/tasks/${made.id}`)).json.data.task;
      return task.runCount === 1 && !task.enabled;
    },
    15000,
    "the run limit reached",
  );
  const refused = await api("POST", "/api/scheduler/apply", {
    tasks: [spec("whole new"), limited],
  });
  assert.equal(refused.status, 422, refused.text);
  assert.equal(refused.json.data[0].field, "tasks[1].maxRuns");
  assert.equal((await tasksNamed("whole new")).length, 0);
});

test("names: repeated in one apply 422, matching several stored tasks 409; bad fields 422", async () => {
  const twice = await api("POST", "/api/scheduler/apply", {
    tasks: [spec("dup x"), spec("dup y"), spec("dup x")],
  });
  assert.equal(twice.status, 422);
  assert.equal(twice.json.data[0].field, "tasks[2].name");
  assert.match(twice.json.data[0].message, /repeats the name of tasks\[0\]/);
  const a = (await api("POST", "/api/scheduler/tasks", spec("dup stored"))).json.data;
  const b = (await api("POST", "/api/scheduler/tasks", spec("dup stored"))).json.data;
  const ambiguous = await api("POST", "/api/scheduler/apply", {
    tasks: [spec("dup fresh"), spec("dup stored")],
  });
  assert.equal(ambiguous.status, 409);
  assert.deepEqual(ambiguous.json.data, [{ name: "dup stored", ids: [a.id, b.id] }]);
  assert.equal((await tasksNamed("dup fresh")).length, 0);

  for (const [body, field, message] of [
    [{ tasks: [], prune: true }, "selector", /required with prune/],
    [
      { tasks: [spec("sel x", { tags: ["team:a"] })], selector: ["team:b"] },
      "tasks[0].tags",
      /selector's tags \(team:b\)/,
    ],
    [{ tasks: [], selector: ["bad tag"] }, "selector[0]", /letters, digits/],
    [{ tasks: {} }, "tasks", /array of tasks/],
    [{ tasks: [], force: true }, "force", /not a field of an apply/],
    [{ tasks: [], dryRun: "yes" }, "dryRun", /true or false/],
    [{ tasks: [spec("x", { surprise: 1 })] }, "tasks[0].surprise", /not a field of a task/],
    [
      { tasks: [spec("x", { notifications: [{ channel: "nowhere", on: ["failure"] }] })] },
      "tasks[0].notifications[0].channel",
      /names no notification channel/,
    ],
  ]) {
    const res = await api("POST", "/api/scheduler/apply", body);
    assert.equal(res.status, 422, JSON.stringify(body));
    const e = res.json.data.find((x) => x.field === field);
    assert.ok(e, `${field} named: ${res.text}`);
    assert.match(e.message, message);
  }
});

test("concurrent applies of the same new names create each task once", async () => {
  const body = { tasks: Array.from({ length: 20 }, (_, i) => spec(`race ${String(i).padStart(2, "0")}`)) };
  const plans = await Promise.all(Array.from({ length: 6 }, () => apply(body)));
  const created = plans.flatMap((p) => p.created.map((c) => c.name));
  assert.equal(created.length, 20, "each name created by exactly one apply");
  assert.equal(new Set(created).size, 20);
  assert.ok(plans.every((p) => p.created.length + p.unchanged.length === 20));
  assert.equal((await tasksNamed("race ")).length, 20);
});

// Every field of every type, and notifications naming their channel.
async function everyField(base) {
  const call = client(base);
  const channel = await call("POST", "/api/scheduler/channels", {
    name: "ops hook",
    type: "webhook",
    url: "http://127.0.0.1:9/hook",
  });
  assert.equal(channel.status, 201, channel.text);
  return [
    {
      name: "doc function",
      type: "function",
      cronExpression: "0 30 2 * * 1-5",
      timezone: "Europe/Berlin",
      enabled: false,
      tags: ["team:doc", "kind:function"],
      functionName: "cleanup-logs",
      functionPayload: '{"days": 14, "note": "ünïcode ✓"}',
      timeoutSeconds: 60,
      maxRetries: 2,
      retryDelaySeconds: 5,
      retryBackoff: "exponential",
      retryMaxDelaySeconds: 600,
      overlapPolicy: "buffer_all",
      catchUpPolicy: "all",
      catchUpWindowSeconds: 7200,
      startAt: Date.UTC(2026, 0, 1),
      endAt: Date.UTC(2030, 0, 1),
      jitterSeconds: 30,
      maxRuns: 500,
      pauseAfterFailures: 4,
      notifications: [
        {
          channel: "ops hook",
          on: ["failure", "recovery", "slow"],
          afterFailures: 2,
          realertMinutes: 60,
          slowSeconds: 30,
        },
      ],
    },
    {
      name: "doc http",
      type: "http",
      cronExpression: "@hourly",
      timezone: "America/New_York",
      tags: ["team:doc"],
      httpMethod: "POST",
      httpUrl: "http://127.0.0.1:9/hook?x=1",
      httpHeaders: '{"Content-Type":"application/json","X-Trace":"a:b"}',
      httpBody: '{"line1": "a\\nb", "quote": "\\""}\n',
      overlapPolicy: "skip",
      catchUpPolicy: "latest",
    },
    {
      name: "doc command",
      type: "command",
      cronExpression: "*/15 * * * *",
      timezone: "UTC",
      tags: ["team:doc"],
      command: ["/bin/sh", "-c", 'echo "$GREETING" && cat'],
      workingDirectory: "/tmp",
      environment: { GREETING: "hello: world", EMPTY: "" },
      commandInput: "line one\nline two\n",
      overlapPolicy: "replace",
      notifications: [{ channel: "ops hook", on: ["missed"], missedGraceSeconds: 120 }],
    },
  ];
}

test("export -> apply on an empty server -> export is the same document; re-applying changes nothing", async () => {
  const specs = await everyField(server.base);
  const applied = await apply({ tasks: specs, selector: ["team:doc"] });
  assert.deepEqual(names(applied.created), ["doc command", "doc function", "doc http"]);
  const exported = await api("GET", "/api/scheduler/export?tag=team:doc");
  assert.equal(exported.status, 200);
  const doc = exported.json.data;
  assert.deepEqual(
    doc.tasks.map((t) => t.name),
    ["doc command", "doc function", "doc http"],
  );
  // Defaults are left out, the channel is named, every given field is there.
  const fn = doc.tasks.find((t) => t.name === "doc function");
  assert.deepEqual(Object.keys(fn).sort(), Object.keys(specs[0]).sort());
  assert.equal(fn.notifications[0].channel, "ops hook");
  assert.equal(fn.notifications[0].channelId, undefined);
  assert.equal(doc.tasks.find((t) => t.name === "doc http").enabled, undefined, "true is the default");

  const same = await apply({ tasks: doc.tasks, prune: true, selector: ["team:doc"] });
  assert.deepEqual([same.created, same.updated, same.deleted], [[], [], []]);
  assert.equal(same.unchanged.length, 3);

  const other = await startServer({ args: ["--allow-commands", "--insecure"] });
  try {
    const otherApi = client(other.base);
    await otherApi("POST", "/api/scheduler/channels", {
      name: "ops hook",
      type: "webhook",
      url: "http://127.0.0.1:9/x",
    });
    const res = await otherApi("POST", "/api/scheduler/apply", { tasks: doc.tasks });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.data.created.length, 3);
    const again = await otherApi("GET", "/api/scheduler/export?tag=team:doc");
    assert.equal(again.text, exported.text, "byte for byte");
    const all = await otherApi("GET", "/api/scheduler/export");
    assert.equal(all.text, exported.text, "nothing else there");
  } finally {
    await other.stop();
  }
  const bad = await api("GET", "/api/scheduler/export?tag=a%20b");
  assert.equal(bad.status, 400);
  assert.equal(bad.json.data[0].field, "tag");
});
