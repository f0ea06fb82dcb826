// The seed plan's smoke test (its task 16), step 2 as written: curl against the server.
// Its task fires daily at 09:00 UTC at an outside URL; tests talk only to loopback, so the
// test waits if it would create the task within seconds of that instant.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { serverForFile } from "./server.mjs";

const t = serverForFile();

const curl = (...args) => execFileSync("curl", ["-s", ...args], { encoding: "utf8" });
const head200 = (text) => text.slice(0, 200);

test("list, create, list, stats", async () => {
  const secondOfDay = Math.floor(Date.now() / 1000) % 86400;
  const nine = 9 * 3600;
  if (secondOfDay >= nine - 5 && secondOfDay <= nine + 1) {
    await new Promise((r) => setTimeout(r, (nine + 2 - secondOfDay) * 1000));
  }
  const base = t.server.base;
  // List tasks (should be empty initially)
  const empty = curl(`${base}/api/scheduler/tasks`);
  assert.match(head200(empty), /^\{"code":0,"message":"ok","data":\{"list":\[\],"total":0,/);
  // Create a task
  const created = curl(
    "-X",
    "POST",
    `${base}/api/scheduler/tasks`,
    "-H",
    "Content-Type: application/json",
    "-d",
    '{"name":"test","cronExpression":"0 9 * * *","type":"http","httpUrl":"https://httpbin.org/get","httpMethod":"GET"}',
  );
  const task = JSON.parse(created).data;
  assert.equal(task.name, "test");
  assert.equal(task.httpUrl, "https://httpbin.org/get");
  // List tasks (should have 1)
  const one = JSON.parse(curl(`${base}/api/scheduler/tasks`)).data;
  assert.equal(one.total, 1);
  assert.equal(one.list[0].id, task.id);
  // Get stats
  const stats = JSON.parse(curl(`${base}/api/scheduler/stats`)).data;
  assert.equal(stats.totalTasks, 1);
  assert.equal(stats.enabledTasks, 1);
  assert.equal(stats.last24hExecutions, 0);
  assert.equal(stats.scheduledJobs, 1);
  assert.equal(stats.activeJobs, 1, "the seed's name for scheduledJobs");
  // Nothing may reach the outside: take the task out again.
  curl("-X", "DELETE", `${base}/api/scheduler/tasks/${task.id}`);
});

test("a manual run answers as the seed's does, and with the execution", () => {
  const base = t.server.base;
  const created = curl(
    "-X",
    "POST",
    `${base}/api/scheduler/tasks`,
    "-H",
    "Content-Type: application/json",
    "-d",
    '{"name":"by hand","cronExpression":"0 0 1 1 *","type":"http","httpUrl":"http://127.0.0.1:9/"}',
  );
  const task = JSON.parse(created).data;
  const run = JSON.parse(curl("-X", "POST", `${base}/api/scheduler/tasks/${task.id}/trigger`));
  assert.equal(run.code, 0);
  assert.equal(run.data.triggered, true);
  const execution = JSON.parse(curl(`${base}/api/scheduler/executions/${run.data.executionId}`));
  assert.equal(execution.data.taskId, task.id);
  assert.equal(execution.data.trigger, "manual");
});
