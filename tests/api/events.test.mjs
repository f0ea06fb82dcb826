// Server-Sent Events: execution and task events arrive live, without task secrets.
import { test } from "node:test";
import assert from "node:assert/strict";
import { eventually, listenEvents, serverForFile } from "./server.mjs";

const t = serverForFile();

function listen() {
  return listenEvents(t.server.base);
}

test("a trigger is seen queued, started and finished; task changes are announced", async () => {
  const stream = listen();
  await stream.ready;
  const secret = "do-not-stream-this-header";
  const task = (
    await t.api("POST", "/api/scheduler/tasks", {
      name: "streamed",
      cronExpression: "0 0 1 1 *",
      type: "function",
      functionName: "cleanup-logs",
      functionPayload: JSON.stringify({ days: 30, note: secret }),
    })
  ).json.data;
  const id = (await t.api("POST", `/api/scheduler/tasks/${task.id}/trigger`)).json.data.executionId;
  await eventually(() => stream.events.some((e) => e.event === "execution.finished" && e.data.id === id));
  await t.api("POST", `/api/scheduler/tasks/${task.id}/toggle`, { enabled: false });
  await t.api("DELETE", `/api/scheduler/tasks/${task.id}`);
  await eventually(() => stream.events.some((e) => e.event === "task.deleted"));
  stream.stop();

  const mine = stream.events.filter((e) => e.data.id === id).map((e) => e.event);
  assert.deepEqual(mine, ["execution.queued", "execution.started", "execution.finished"]);
  const finished = stream.events.find((e) => e.event === "execution.finished" && e.data.id === id);
  assert.equal(finished.data.status, "success");
  assert.equal(finished.data.taskId, task.id);
  const taskEvents = stream.events.filter((e) => e.data.id === task.id).map((e) => e.event);
  assert.deepEqual(taskEvents, ["task.created", "task.updated", "task.deleted"]);
  assert.equal(stream.events.find((e) => e.event === "task.updated").data.enabled, false);
  assert.ok(stream.events.every((e) => !e.text.includes(secret)));
});

test("several clients each get every event; a closed client is dropped", async () => {
  const a = listen();
  const b = listen();
  await Promise.all([a.ready, b.ready]);
  b.stop();
  await t.api("POST", "/api/scheduler/tasks", {
    name: "fan-out",
    cronExpression: "@daily",
    type: "function",
    functionName: "cleanup-logs",
  });
  await eventually(() => a.events.some((e) => e.event === "task.created" && e.data.name === "fan-out"));
  a.stop();
  // The server keeps answering after clients went away.
  assert.equal((await t.api("GET", "/healthz")).status, 200);
});

test("channel changes and finished deliveries are announced, never a secret", async () => {
  const stream = listen();
  await stream.ready;
  const secret = "a-channel-secret-not-streamed";
  const channel = (
    await t.api("POST", "/api/scheduler/channels", {
      name: "streamed hook",
      type: "webhook",
      url: `${t.server.base}/healthz`,
      headers: { Authorization: `Bearer ${secret}` },
      secret,
    })
  ).json.data;
  await t.api("PUT", `/api/scheduler/channels/${channel.id}`, { name: "renamed hook" });
  const tested = (await t.api("POST", `/api/scheduler/channels/${channel.id}/test`)).json.data;
  await t.api("DELETE", `/api/scheduler/channels/${channel.id}`);
  await eventually(() => stream.events.some((e) => e.event === "channel.deleted"));
  stream.stop();
  const mine = stream.events.filter((e) => e.data.id === channel.id || e.data.channelId === channel.id);
  assert.deepEqual(
    mine.map((e) => e.event),
    ["channel.created", "channel.updated", "delivery.finished", "channel.deleted"],
  );
  assert.deepEqual(mine[1].data, { id: channel.id, name: "renamed hook", type: "webhook" });
  assert.deepEqual(mine[2].data, {
    id: tested.deliveryId,
    channelId: channel.id,
    taskId: null,
    event: "test",
    status: "failed", // the server's own /healthz does not take a POST
  });
  assert.ok(!mine.some((e) => e.text.includes(secret)));
});

test("the stream only answers GET", async () => {
  const res = await t.api("POST", "/api/scheduler/events", {});
  assert.equal(res.status, 405);
});

test("a task that pauses itself is announced, and a backfill's runs stream like others", async () => {
  const stream = listen();
  await stream.ready;
  const task = (
    await t.api("POST", "/api/scheduler/tasks", {
      name: "once",
      cronExpression: "* * * * * *",
      type: "function",
      functionName: "cleanup-logs",
      maxRuns: 1,
    })
  ).json.data;
  const paused = await eventually(
    () => stream.events.find((e) => e.event === "task.updated" && e.data.id === task.id && !e.data.enabled),
    10000,
    "the pause announced",
  );
  assert.equal(paused.data.name, "once");
  const end = Math.floor(Date.now() / 1000) * 1000 - 5000;
  await t.api("POST", `/api/scheduler/tasks/${task.id}/backfill`, { from: end - 2000, to: end });
  await eventually(
    () =>
      stream.events.filter(
        (e) => e.event === "execution.finished" && e.data.taskId === task.id && e.data.trigger === "backfill",
      ).length === 2,
  );
  stream.stop();
  await t.api("DELETE", `/api/scheduler/tasks/${task.id}`);
});
