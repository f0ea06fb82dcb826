// /metrics in Prometheus' text format, counting what the engine did.
import { test } from "node:test";
import assert from "node:assert/strict";
import { eventually, serverForFile } from "./server.mjs";

const t = serverForFile();

function parse(text) {
  const samples = new Map();
  const types = new Map();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const type = /^# TYPE (\S+) (counter|gauge|histogram)$/.exec(line);
    if (type) types.set(type[1], type[2]);
    if (line.startsWith("#")) continue;
    const m = /^([a-z_]+(?:\{[a-z]+="[^"]*"(?:,[a-z]+="[^"]*")*\})?) (-?[0-9.e+]+)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    samples.set(m[1], Number(m[2]));
  }
  return { samples, types };
}

test("executions, durations, lag, queue and tasks are reported", async () => {
  const task = (
    await t.api("POST", "/api/scheduler/tasks", {
      name: "measured",
      cronExpression: "* * * * * *",
      type: "function",
      functionName: "cleanup-logs",
    })
  ).json.data;
  const res = await fetch(t.server.base + "/metrics");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type"), /^text\/plain; version=0\.0\.4/);

  // The every-second task fires on its own: its lag and outcome show up.
  const after = await eventually(async () => {
    const { samples, types } = parse(await (await fetch(t.server.base + "/metrics")).text());
    return samples.get("cronkit_firing_lag_seconds_count") >= 1 &&
      samples.get('cronkit_executions_finished_total{status="success"}') >= 1
      ? { samples, types }
      : null;
  }, 5000);
  const { samples, types } = after;
  assert.equal(types.get("cronkit_executions_finished_total"), "counter");
  assert.equal(types.get("cronkit_execution_duration_seconds"), "histogram");
  assert.equal(types.get("cronkit_queue_depth"), "gauge");
  assert.equal(samples.get("cronkit_scheduled_tasks"), 1);
  assert.ok(samples.get("cronkit_executions_queued_total") >= 1);
  assert.ok(samples.get("cronkit_execution_duration_seconds_count") >= 1);
  assert.equal(
    samples.get('cronkit_firing_lag_seconds_bucket{le="+Inf"}'),
    samples.get("cronkit_firing_lag_seconds_count"),
  );
  for (const name of ["cronkit_running_executions", "cronkit_held_firings"]) {
    assert.ok(samples.has(name), name);
  }
  await t.api("DELETE", `/api/scheduler/tasks/${task.id}`);
});

test("the task page cache counts its hits and misses", async () => {
  const read = async () => parse((await t.api("GET", "/metrics")).text).samples;
  const count = (samples, what) => samples.get(`cronkit_task_page_cache_${what}_total`);
  // The same page twice with no change in between: built once, then answered from the
  // cache. (A firing still finishing from the test before would change the data: retried.)
  let pageSize = 7; // a page never asked for before, on each try
  await eventually(async () => {
    const path = `/api/scheduler/tasks?pageSize=${pageSize++}`;
    const before = await read();
    await t.api("GET", path);
    await t.api("GET", path);
    const after = await read();
    return (
      count(after, "misses") - count(before, "misses") === 1 &&
      count(after, "hits") - count(before, "hits") === 1
    );
  });
});
