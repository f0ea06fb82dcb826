// The database goes away for 8 s under a running server: the server starts nothing while it
// cannot renew its heartbeat, says so on /readyz, and when the database returns it carries
// on, runs a catch-up task once for the latest instant it missed, and leaves nothing
// half-done.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Node, drained, eventually, executions, postgres, sleep, startReceiver } from "./cluster.mjs";

const work = mkdtempSync(join(tmpdir(), "cronkit-outage-"));
const pgState = join(work, "postgres.url");
let dbUrl;
let receiver;
let node;

before(async () => {
  dbUrl = postgres("start", pgState);
  receiver = await startReceiver();
  node = new Node("solo", dbUrl);
  await node.start();
});

after(async () => {
  await node?.stop("SIGKILL");
  receiver?.close();
  postgres("stop", pgState);
  rmSync(work, { recursive: true, force: true });
});

// When fn() first holds (ms since the epoch).
async function when(what, fn, timeoutMs) {
  await eventually(fn, timeoutMs, what, 100);
  return Date.now();
}

test("a server cut off from the database fires nothing and catches up when it returns", async () => {
  const create = async (name, catchUp) => {
    const { status, json } = await node.api("POST", "/api/scheduler/tasks", {
      name,
      cronExpression: "* * * * * *",
      type: "http",
      httpMethod: "POST",
      httpUrl: receiver.url,
      catchUp,
    });
    assert.equal(status, 201, JSON.stringify(json));
    return json.data.id;
  };
  const catchingUp = await create("catches up", true);
  const skipping = await create("does not catch up", false);
  await sleep(3000);
  assert.equal((await node.api("GET", "/readyz")).status, 200);

  const down = Date.now();
  postgres("halt", pgState);
  const notReady = await when(
    "/readyz says not ready",
    async () => (await node.api("GET", "/readyz")).status === 503,
    5000,
  );
  await sleep(Math.max(0, down + 8000 - Date.now()));
  const up = Date.now();
  postgres("resume", pgState);
  const ready = await when(
    "/readyz says ready again",
    async () => (await node.api("GET", "/readyz")).status === 200,
    15000,
  );
  // Firings carry on after the outage.
  await when(
    "firings after the outage",
    () => [...receiver.received.values()].some((seen) => seen.some((s) => s.at > ready + 1500)),
    10000,
  );
  await sleep(2000);
  for (const id of [catchingUp, skipping]) {
    assert.equal(
      (await node.api("POST", `/api/scheduler/tasks/${id}/toggle`, { enabled: false })).status,
      200,
    );
  }
  assert.equal(await drained(dbUrl), 0, "executions left queued or running");

  // Nothing started while the server could not renew its heartbeat: allow the 3 s lease
  // (firings claimed before the outage may start within it).
  const startedWhileDown = [];
  const received = receiver.received;
  for (const [key, seen] of received) {
    for (const s of seen) if (s.at > down + 3500 && s.at < up) startedWhileDown.push(key);
  }
  const twice = [...received].filter(([, seen]) => seen.length > 1);
  const rows = executions(dbUrl);
  const catchUps = rows.filter((r) => r.trigger === "catch-up");
  console.log(
    JSON.stringify({
      notReadyAfterMs: notReady - down,
      readyAfterReturnMs: ready - up,
      executions: rows.length,
      catchUps: catchUps.map((r) => ({ task: r.taskId, at: new Date(r.at).toISOString() })),
    }),
  );
  assert.ok(notReady - down <= 4500, `not ready only after ${notReady - down} ms`);
  assert.deepEqual(startedWhileDown, [], "requests made while the database was away");
  assert.deepEqual(twice, [], "firings that ran twice");
  assert.equal(catchUps.length, 1, "one catch-up run");
  assert.equal(catchUps[0].taskId, catchingUp);
  assert.ok(catchUps[0].at >= down && catchUps[0].at <= ready, "for an instant of the outage");
  assert.ok(
    rows.every((r) => ["success", "failed", "timed_out", "skipped"].includes(r.status)),
    "every execution finished",
  );
});
