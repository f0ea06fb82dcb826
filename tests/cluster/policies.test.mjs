// Scheduling policies on three servers sharing one PostgreSQL database, servers killed with
// SIGKILL and restarted every 10 s: jittered firings start at the delay every server
// computes alike, never before it, and run once each; a backfill asked of two servers at
// once, one of them killed as it answers, runs every instant of its range once; a task
// with maxRuns makes exactly that many runs across the kills, then pauses itself; and after
// every server was down, the three starting together catch up each missed instant once.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Node, drained, executions, postgres, psql, sleep, startReceiver } from "./cluster.mjs";

const RUN_MS = 30000;
const KILL_EVERY_MS = 10000;

const work = mkdtempSync(join(tmpdir(), "cronkit-cluster-policies-"));
const pgState = join(work, "postgres.url");
let dbUrl;
let receiver;
let nodes = [];

before(async () => {
  dbUrl = postgres("start", pgState);
  receiver = await startReceiver();
  nodes = ["n1", "n2", "n3"].map((name) => new Node(name, dbUrl, ["--max-concurrency", "100"]));
  await Promise.all(nodes.map((n) => n.start()));
});

after(async () => {
  await Promise.all(nodes.map((n) => n.stop("SIGKILL")));
  receiver?.close();
  postgres("stop", pgState);
  rmSync(work, { recursive: true, force: true });
});

// The server's jitter delay (src/engine/timetable.cpp), to check starts against.
const MASK = (1n << 64n) - 1n;
function mix64(x) {
  x ^= x >> 30n;
  x = (x * 0xbf58476d1ce4e5b9n) & MASK;
  x ^= x >> 27n;
  x = (x * 0x94d049bb133111ebn) & MASK;
  return x ^ (x >> 31n);
}
function fnv1a(s) {
  let h = 14695981039346656037n;
  for (const byte of Buffer.from(s, "utf8")) {
    h ^= BigInt(byte);
    h = (h * 1099511628211n) & MASK;
  }
  return h;
}
function jitterDelay(taskId, instant, limitMs) {
  const h = mix64(fnv1a(taskId) ^ mix64(BigInt(instant) ^ 0x6a09e667f3bcc909n));
  return Number(h % BigInt(limitMs));
}

async function killEvery(ms, total) {
  const kills = [];
  const started = Date.now();
  for (let k = 0; Date.now() - started + ms <= total; k++) {
    await sleep(ms - ((Date.now() - started) % ms));
    const node = nodes[(k % 2) + 1]; // n2 and n3: n1 is killed after the backfill
    await node.stop("SIGKILL");
    await node.start();
    kills.push(node.name);
  }
  await sleep(Math.max(0, total - (Date.now() - started)));
  return kills;
}

test("jitter, backfill and a run limit hold while servers are killed", async () => {
  // 30 tasks every 5 s with up to 4 s of jitter; 10 paused tasks to backfill.
  const jittered = [];
  for (let i = 0; i < 30; i++) {
    const { status, json } = await nodes[i % 3].api("POST", "/api/scheduler/tasks", {
      name: `jittered ${i}`,
      cronExpression: "*/5 * * * * *",
      type: "http",
      httpMethod: "POST",
      httpUrl: receiver.url,
      jitterSeconds: 4,
    });
    assert.equal(status, 201, JSON.stringify(json));
    jittered.push(json.data.id);
  }
  const backfilled = [];
  for (let i = 0; i < 10; i++) {
    const { json } = await nodes[i % 3].api("POST", "/api/scheduler/tasks", {
      name: `backfilled ${i}`,
      cronExpression: "* * * * * *",
      type: "http",
      httpMethod: "POST",
      httpUrl: receiver.url,
      enabled: false,
    });
    backfilled.push(json.data.id);
  }
  // A run limit that the kills below cut across: exactly 15 runs, then paused.
  const limited = (
    await nodes[1].api("POST", "/api/scheduler/tasks", {
      name: "limited",
      cronExpression: "* * * * * *",
      type: "http",
      httpMethod: "POST",
      httpUrl: receiver.url,
      maxRuns: 15,
    })
  ).json.data.id;
  const from = Math.ceil((Date.now() + 1500) / 5000) * 5000;
  const kills = killEvery(KILL_EVERY_MS, RUN_MS);

  // The same backfill of the last five minutes asked of two servers at once; the first is
  // killed as it answers (its claims that committed are taken over, the rest are the
  // other's to claim).
  await sleep(4000);
  const end = Math.floor(Date.now() / 1000) * 1000 - 60000;
  const start = end - 300000;
  const answers = await Promise.all(
    backfilled.flatMap((id) =>
      [nodes[0], nodes[1]].map((node) =>
        node.api("POST", `/api/scheduler/tasks/${id}/backfill`, { from: start, to: end }),
      ),
    ),
  );
  await nodes[0].stop("SIGKILL");
  await nodes[0].start();
  for (const a of answers) {
    if (a.status === 503) continue; // the server was being restarted: the other one asked too
    assert.equal(a.status, 202, a.text);
    assert.equal(a.json.data.count, 300);
  }
  const killed = ["n1", ...(await kills)];

  // The window ends at an instant 5 s past; one whose server was killed is run late (its
  // jitter, then the others' backup check), so the tasks are disabled only once every
  // instant of the window has its execution, or after 60 s (then the check below names
  // what is missing).
  const until = Math.floor((Date.now() - 5000) / 5000) * 5000;
  const windowRan = () => {
    const seen = new Set(executions(dbUrl).map((r) => `${r.taskId} ${r.at}`));
    return jittered.every((id) => {
      for (let at = from; at <= until; at += 5000) if (!seen.has(`${id} ${at}`)) return false;
      return true;
    });
  };
  for (const deadline = Date.now() + 60000; !windowRan() && Date.now() < deadline;) {
    await sleep(500);
  }
  for (const id of jittered) {
    assert.equal(
      (await nodes[2].api("POST", `/api/scheduler/tasks/${id}/toggle`, { enabled: false })).status,
      200,
    );
  }
  const unfinished = await drained(dbUrl, 60000);
  await Promise.all(nodes.map((n) => n.stop("SIGTERM")));
  assert.equal(unfinished, 0, "executions left queued or running");

  const rows = executions(dbUrl);
  const byFiring = new Map();
  const twice = [];
  for (const r of rows) {
    const key = `${r.taskId} ${r.at}`;
    if (byFiring.has(key)) twice.push(key);
    byFiring.set(key, r);
  }
  assert.deepEqual(twice.slice(0, 10), [], `${twice.length} instants ran twice`);

  const missing = [];
  const early = [];
  const delays = [];
  for (const id of jittered) {
    for (let at = from; at <= until; at += 5000) {
      const r = byFiring.get(`${id} ${at}`);
      if (!r) {
        missing.push(`${id} ${new Date(at).toISOString()}`);
        continue;
      }
      const delay = jitterDelay(id, at, 4000);
      delays.push(delay);
      // lag is started_at - scheduled_for: never before the delay every server computes.
      if (r.status === "success" && r.lag < delay) early.push(`${id} ${at}: ${r.lag} < ${delay}`);
    }
  }
  const backfillMissing = [];
  for (const id of backfilled) {
    for (let at = start; at < end; at += 1000) {
      const r = byFiring.get(`${id} ${at}`);
      if (!r || r.trigger !== "backfill") backfillMissing.push(`${id} ${new Date(at).toISOString()}`);
    }
  }
  const limitedRuns = rows.filter((r) => r.taskId === limited);
  const limitedTask = psql(
    dbUrl,
    `SELECT enabled, run_count, paused_note FROM scheduled_tasks WHERE id = '${limited}'`,
  ).trim();
  const received = receiver.received;
  const reachedTwice = [...received].filter(([, seen]) => seen.length > 1);
  console.log(
    JSON.stringify(
      {
        window: `${new Date(from).toISOString()} .. ${new Date(until).toISOString()}`,
        executions: rows.length,
        backfilled: rows.filter((r) => r.trigger === "backfill").length,
        notSuccessful: rows.filter((r) => r.status !== "success").length,
        delaysSpreadMs: [Math.min(...delays), Math.max(...delays)],
        limitedRuns: limitedRuns.length,
        killed,
      },
      null,
      2,
    ),
  );
  assert.deepEqual(missing.slice(0, 10), [], `${missing.length} jittered instants never ran`);
  assert.deepEqual(early.slice(0, 10), [], `${early.length} started before their jitter delay`);
  assert.deepEqual(backfillMissing.slice(0, 10), [], `${backfillMissing.length} backfilled instants missing`);
  assert.deepEqual(
    reachedTwice.slice(0, 10),
    [],
    `${reachedTwice.length} firings reached the receiver twice`,
  );
  assert.equal(limitedRuns.length, 15, "maxRuns 15: fifteen runs across the kills, no more");
  assert.ok(limitedRuns.every((r) => r.trigger === "schedule"));
  assert.equal(limitedTask, "f\t15\tpaused by cronkit: made its 15 runs (maxRuns)");
});

test("after every server was down, catch-up runs each missed instant once", async () => {
  await Promise.all(nodes.map((n) => n.start()));
  const { status, json } = await nodes[0].api("POST", "/api/scheduler/tasks", {
    name: "catches up",
    cronExpression: "* * * * * *",
    type: "http",
    httpMethod: "POST",
    httpUrl: receiver.url,
    catchUpPolicy: "all",
  });
  assert.equal(status, 201, JSON.stringify(json));
  const id = json.data.id;
  await sleep(2500);
  const down = Date.now();
  await Promise.all(nodes.map((n) => n.stop("SIGTERM")));
  await sleep(8000);
  // All three start together: each owes the same instants; each is claimed once.
  await Promise.all(nodes.map((n) => n.start()));
  const up = Date.now();
  await sleep(2000);
  assert.equal(
    (await nodes[1].api("POST", `/api/scheduler/tasks/${id}/toggle`, { enabled: false })).status,
    200,
  );
  const unfinished = await drained(dbUrl, 30000);
  await Promise.all(nodes.map((n) => n.stop("SIGTERM")));
  assert.equal(unfinished, 0, "executions left queued or running");
  const rows = executions(dbUrl).filter((r) => r.taskId === id);
  const seen = new Map();
  for (const r of rows) seen.set(r.at, (seen.get(r.at) ?? 0) + 1);
  const twice = [...seen].filter(([, n]) => n > 1);
  // Every second between the last one run before the stop and the restart ran, once.
  const caught = rows.filter((r) => r.trigger === "catch-up").map((r) => r.at);
  const missing = [];
  for (
    let at = Math.ceil((down + 1000) / 1000) * 1000;
    at <= Math.floor((up - 1500) / 1000) * 1000;
    at += 1000
  ) {
    if (!seen.has(at)) missing.push(new Date(at).toISOString());
  }
  console.log(JSON.stringify({ runs: rows.length, caughtUp: caught.length, downMs: up - down }));
  assert.deepEqual(twice, [], "instants run twice");
  assert.deepEqual(missing, [], "missed instants not caught up");
  assert.ok(caught.length >= 6, `${caught.length} caught up`);
});
