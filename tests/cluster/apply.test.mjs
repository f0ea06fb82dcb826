// Tasks as code on three servers sharing one PostgreSQL database: what one server applies,
// every server schedules within a second; applies sent to all three at once create each
// task once; each firing of an applied task runs once; a prune through another server
// unschedules the tasks everywhere.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Node, drained, eventually, postgres, startReceiver } from "./cluster.mjs";

const work = mkdtempSync(join(tmpdir(), "cronkit-cluster-apply-"));
const pgState = join(work, "postgres.url");
let dbUrl;
let receiver;
let nodes = [];

before(async () => {
  dbUrl = postgres("start", pgState);
  receiver = await startReceiver();
  nodes = ["a1", "a2", "a3"].map((name) => new Node(name, dbUrl));
  await Promise.all(nodes.map((n) => n.start()));
});

after(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  receiver?.close();
  postgres("stop", pgState);
  rmSync(work, { recursive: true, force: true });
});

const spec = (name) => ({
  name,
  type: "http",
  cronExpression: "* * * * * *",
  httpUrl: receiver.url,
  tags: ["team:cluster"],
});

async function scheduledEverywhere(ids) {
  for (const node of nodes) {
    for (const id of ids) {
      const res = await node.api("GET", `/api/scheduler/tasks/${id}`);
      if (res.status !== 200 || typeof res.json.data.task.nextRun !== "number") return false;
    }
  }
  return true;
}

test("an apply through one server is scheduled by every server within a second, and fires once per instant", async () => {
  const res = await nodes[0].api("POST", "/api/scheduler/apply", {
    tasks: [spec("c1"), spec("c2"), spec("c3")],
    selector: ["team:cluster"],
  });
  assert.equal(res.status, 200, res.text);
  const applied = Date.now();
  const ids = res.json.data.created.map((c) => c.id);
  assert.equal(ids.length, 3);
  await eventually(() => scheduledEverywhere(ids), 1000, "every server to schedule the applied tasks", 50);
  const took = Date.now() - applied;
  assert.ok(took <= 1000, `scheduled everywhere after ${took} ms`);

  // Each applied task fires every second; each instant reaches the receiver once.
  await eventually(
    () => ids.every((id) => [...receiver.received.keys()].filter((k) => k.startsWith(id)).length >= 3),
    15000,
  );
  for (const [key, seen] of receiver.received) assert.equal(seen.length, 1, `${key} ran once`);
});

test("applies sent to all three servers at once create each task once; prune through another removes them everywhere", async () => {
  const body = { tasks: Array.from({ length: 10 }, (_, i) => spec(`race ${i}`)), selector: ["team:race"] };
  body.tasks.forEach((t) => (t.tags = ["team:race"]));
  const answers = await Promise.all(nodes.map((n) => n.api("POST", "/api/scheduler/apply", body)));
  for (const a of answers) assert.equal(a.status, 200, a.text);
  const created = answers.flatMap((a) => a.json.data.created.map((c) => c.name));
  assert.equal(created.length, 10);
  assert.equal(new Set(created).size, 10);
  const listed = (await nodes[2].api("GET", "/api/scheduler/tasks?tag=team:race&pageSize=100")).json.data;
  assert.equal(listed.total, 10);
  const ids = listed.list.map((t) => t.id);
  await eventually(() => scheduledEverywhere(ids), 5000);

  const pruned = await nodes[1].api("POST", "/api/scheduler/apply", {
    tasks: [],
    prune: true,
    selector: ["team:race"],
  });
  assert.equal(pruned.json.data.deleted.length, 10);
  // The cluster's own tasks are untouched.
  assert.equal((await nodes[0].api("GET", "/api/scheduler/tasks?tag=team:cluster")).json.data.total, 3);
  await eventually(async () => {
    for (const node of nodes) {
      for (const id of ids)
        if ((await node.api("GET", `/api/scheduler/tasks/${id}`)).status !== 404) return false;
      const stats = (await node.api("GET", "/api/scheduler/stats")).json.data;
      if (stats.scheduledJobs !== 3) return false;
    }
    return true;
  }, 5000);
  assert.equal(await drained(dbUrl), 0);
});
