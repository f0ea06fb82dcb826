// Three cronkit servers on one PostgreSQL database, 100 tasks firing every second for a
// minute, one server killed with SIGKILL and restarted every 15 s. Every (task, instant)
// must run exactly once: no instant missing, none run twice (counted where the requests
// land, not only in the database), every execution finished at the end.
//   node --test tests/cluster/   (needs build/cronkit and PostgreSQL; see tests/support)
import { spawn, execFileSync } from "node:child_process";
import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";

const root = resolve(new URL("../..", import.meta.url).pathname);
const binary = process.env.CRONKIT_BIN ?? join(root, "build/cronkit");
const artifacts = join(root, "build/cluster-artifacts");
const TASKS = 100;
const RUN_MS = Number(process.env.CRONKIT_CLUSTER_RUN_MS ?? 60000);
const KILL_EVERY_MS = 15000;

const work = mkdtempSync(join(tmpdir(), "cronkit-cluster-"));
const pgState = join(work, "postgres.url");
let dbUrl;
let receiver;
const received = new Map(); // "taskId scheduledFor" -> execution ids seen
const nodes = [];

function psql(sql) {
  return execFileSync("psql", ["-X", "-At", "-F", "\t", dbUrl, "-c", sql], {
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
}

// Starts (or restarts) node `name`; resolves with its base URL once it listens.
function startNode(node) {
  const log = createWriteStream(join(artifacts, `${node.name}.log`), { flags: "a" });
  const child = spawn(
    binary,
    ["serve", "--port", "0", "--db", dbUrl, "--node-id", node.name, "--max-concurrency", "200"],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  node.child = child;
  let text = "";
  return new Promise((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`${node.name} did not start:\n${text}`)), 15000);
    child.stderr.on("data", (chunk) => {
      log.write(chunk);
      if (node.base && text === null) return;
      text += chunk;
      const m = /listening on (http:\/\/[0-9.]+:[0-9]+)/.exec(text);
      if (m) {
        clearTimeout(timer);
        node.base = m[1];
        text = null;
        resolvePort(m[1]);
      }
    });
    child.on("exit", (code, signal) => {
      log.end();
      if (text !== null) reject(new Error(`${node.name} exited with ${code ?? signal}:\n${text}`));
    });
  });
}

async function stopNode(node, signal) {
  const exited = new Promise((r) => node.child.once("exit", (code, sig) => r(code ?? sig)));
  node.child.kill(signal);
  return exited;
}

async function api(node, method, path, body) {
  const res = await fetch(node.base + path, {
    method,
    headers: body ? { "content-type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json().catch(() => undefined);
  return { status: res.status, json };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  for (const f of ["n1", "n2", "n3"]) rmSync(join(artifacts, `${f}.log`), { force: true });
  execFileSync(join(root, "tests/support/postgres.sh"), ["start", pgState], { stdio: "inherit" });
  dbUrl = execFileSync("cat", [pgState], { encoding: "utf8" }).trim();
  receiver = createServer((req, res) => {
    const at = new Date(req.headers["x-cronkit-scheduled-for"]).toISOString();
    const key = `${req.headers["x-cronkit-task-id"]} ${at}`;
    const seen = received.get(key) ?? [];
    seen.push(req.headers["x-cronkit-execution-id"]);
    received.set(key, seen);
    req.resume();
    req.on("end", () => res.end("ok"));
  });
  await new Promise((r) => receiver.listen(0, "127.0.0.1", r));
  for (const name of ["n1", "n2", "n3"]) nodes.push({ name });
  await Promise.all(nodes.map(startNode));
});

after(async () => {
  for (const node of nodes) {
    if (node.child && node.child.exitCode === null && node.child.signalCode === null) {
      await stopNode(node, "SIGKILL");
    }
  }
  receiver?.close();
  execFileSync(join(root, "tests/support/postgres.sh"), ["stop", pgState], { stdio: "inherit" });
  rmSync(work, { recursive: true, force: true });
});

test("each firing runs exactly once while servers are killed and restarted", async () => {
  const url = `http://127.0.0.1:${receiver.address().port}/hook`;
  const ids = [];
  for (let i = 0; i < TASKS; i++) {
    const { status, json } = await api(nodes[i % 3], "POST", "/api/scheduler/tasks", {
      name: `every second ${i}`,
      cronExpression: "* * * * * *",
      type: "http",
      httpMethod: "POST",
      httpUrl: url,
      timeoutSeconds: 10,
    });
    assert.equal(status, 201, JSON.stringify(json));
    ids.push(json.data.id);
  }
  // Changes reach every server within a second; from then on every instant counts.
  const from = Math.ceil((Date.now() + 1500) / 1000) * 1000;
  const kills = [];
  const started = Date.now();
  for (let k = 0; Date.now() - started + KILL_EVERY_MS <= RUN_MS; k++) {
    await sleep(KILL_EVERY_MS - ((Date.now() - started) % KILL_EVERY_MS));
    const node = nodes[k % 3];
    const at = Date.now();
    await stopNode(node, "SIGKILL");
    await startNode(node);
    kills.push({ node: node.name, at, back: Date.now() });
  }
  await sleep(Math.max(0, RUN_MS - (Date.now() - started)));

  // Pause every task, then wait for every execution to finish (a killed server's are taken
  // over once its heartbeat is 6 s old). The window ends before the pause by the 3 s after
  // which a firing its owner did not claim is claimed by another server: a task paused by
  // then rightly runs no more.
  const until = Math.floor((Date.now() - 4000) / 1000) * 1000;
  for (const id of ids) {
    const { status } = await api(nodes[0], "POST", `/api/scheduler/tasks/${id}/toggle`, {
      enabled: false,
    });
    assert.equal(status, 200);
  }
  let unfinished;
  for (let waited = 0; waited < 30000; waited += 500) {
    await sleep(500);
    unfinished = Number(
      psql("SELECT count(*) FROM task_execution_logs WHERE status IN ('queued', 'running')"),
    );
    if (unfinished === 0) break;
  }
  await Promise.all(nodes.map((n) => stopNode(n, "SIGTERM")));
  assert.equal(unfinished, 0, "executions left queued or running");

  const rows = psql(
    `SELECT task_id, scheduled_for, status, "trigger", node_id, id, started_at - scheduled_for
       FROM task_execution_logs ORDER BY scheduled_for`,
  )
    .trim()
    .split("\n")
    .map((line) => {
      const [taskId, at, status, trigger, node, id, lag] = line.split("\t");
      return { taskId, at: Number(at), status, trigger, node, id, lag: Number(lag) };
    });
  const byFiring = new Map();
  for (const r of rows) {
    const key = `${r.taskId} ${new Date(r.at).toISOString()}`;
    assert.ok(!byFiring.has(key), `two executions for ${key}`);
    byFiring.set(key, r);
  }
  // Every instant of every task in the window has its execution.
  const missing = [];
  for (const id of ids) {
    for (let at = from; at <= until; at += 1000) {
      const key = `${id} ${new Date(at).toISOString()}`;
      if (!byFiring.has(key)) missing.push(key);
    }
  }
  // No firing ran twice: each reached the receiver at most once, and a successful one once,
  // from its own execution.
  const twice = [...received].filter(([, seen]) => seen.length > 1);
  let successes = 0;
  const lostSuccesses = [];
  for (const [key, r] of byFiring) {
    if (r.status !== "success") continue;
    successes++;
    const seen = received.get(key);
    if (!seen || seen.length !== 1 || seen[0] !== r.id) lostSuccesses.push(key);
  }
  const perNode = {};
  for (const r of rows) perNode[r.node] = (perNode[r.node] ?? 0) + 1;
  const interrupted = rows.filter((r) => r.status !== "success");
  const late = rows.filter((r) => r.lag > 2000);
  const summary = {
    window: `${new Date(from).toISOString()} .. ${new Date(until).toISOString()}`,
    executions: rows.length,
    successes,
    notSuccessful: interrupted.length,
    startedMoreThan2sLate: late.length,
    perNode,
    kills,
  };
  console.log(JSON.stringify(summary, null, 2));

  assert.deepEqual(missing.slice(0, 10), [], `${missing.length} instants never ran`);
  assert.deepEqual(twice.slice(0, 10), [], `${twice.length} firings reached the receiver twice`);
  assert.deepEqual(lostSuccesses.slice(0, 10), [], "successes the receiver did not see once");
  for (const name of ["n1", "n2", "n3"]) {
    assert.ok((perNode[name] ?? 0) > rows.length / 10, `${name} ran too few: ${perNode[name]}`);
  }
});
