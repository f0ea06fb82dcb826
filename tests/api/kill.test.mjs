// SIGKILL during heavy firing: 1,000 http tasks fire every second against a loopback
// target that answers after 1.5 s, so that well over 1,000 executions are in flight when
// the server is killed, twice — each time the moment the target receives the first request
// of a new second, while that second's attempts are being started. After a last restart
// every firing has exactly one record, every record is terminal, and the target received
// each firing at most once: exactly once when it is recorded as a success, at most once
// when it is recorded as interrupted (the attempt may have started).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultBinary } from "../support/harness.mjs";
import { client, eventually, startReceiver, startServer } from "./server.mjs";

const tasks = 1000;
let target; // answers after 1.5 s
let killAfter; // when set, the server is killed at the first request for an instant after it
let killed; // resolves once it is
before(async () => {
  target = await startReceiver({
    backlog: 4096,
    respond(req, res) {
      const instant = Date.parse(req.headers["x-cronkit-scheduled-for"]);
      if (killAfter !== undefined && instant > killAfter.instant) {
        process.kill(killAfter.pid, "SIGKILL");
        killAfter = undefined;
        killed();
      }
      const timer = setTimeout(() => res.end("ok"), 1500);
      res.on("close", () => clearTimeout(timer));
    },
  });
});
after(() => target.close());

const dir = mkdtempSync(join(tmpdir(), "cronkit-kill-"));
const db = join(dir, "cronkit.db");
after(() => rmSync(dir, { recursive: true, force: true }));
const start = () => startServer({ db: `sqlite:${db}`, args: ["--max-concurrency", "5000"] });

async function killWhenBusy(server) {
  const api = client(server.base);
  const busy = await eventually(async () => {
    const s = (await api("GET", "/api/scheduler/stats")).json.data;
    return s.running >= tasks ? s : undefined;
  }, 30000);
  // The instants requested so far; the kill comes with the first request of a later one.
  const latest = Math.max(...target.requests.map((r) => Date.parse(r.headers["x-cronkit-scheduled-for"])));
  await new Promise((resolve) => {
    killed = resolve;
    killAfter = { pid: server.pid, instant: latest };
  });
  await eventually(() => !server.running(), 10000, "the killed server's exit");
  return busy.running;
}

test("after SIGKILL with 1,000 executions in flight, every firing has exactly one terminal record", async (ctx) => {
  let server = await start();
  let api = client(server.base);
  const url = target.url("/slow");
  for (let i = 0; i < tasks; i++) {
    const res = await api("POST", "/api/scheduler/tasks", {
      name: `busy ${i}`,
      cronExpression: "* * * * * *",
      type: "http",
      httpUrl: url,
      timeoutSeconds: 10,
    });
    assert.equal(res.status, 201);
  }
  const inFlight = [await killWhenBusy(server)];
  server = await start();
  inFlight.push(await killWhenBusy(server));

  // The last start: stop the firing, let what was queued run, stop cleanly.
  server = await start();
  api = client(server.base);
  const ids = [];
  for (let page = 1; ids.length < tasks; page++) {
    const list = (await api("GET", `/api/scheduler/tasks?page=${page}&pageSize=100`)).json.data;
    ids.push(...list.list.map((t) => t.id));
  }
  for (const id of ids) {
    assert.equal((await api("POST", `/api/scheduler/tasks/${id}/toggle`, { enabled: false })).status, 200);
  }
  await eventually(async () => {
    const s = (await api("GET", "/api/scheduler/stats")).json.data;
    return s.running === 0 && s.queued === 0;
  }, 30000);
  await server.stop().catch((e) => assert.fail(e));

  const sql = (q) => execFileSync("sqlite3", ["-readonly", db, q], { encoding: "utf8" }).trim();
  assert.equal(sql("PRAGMA integrity_check"), "ok");
  assert.equal(
    sql(
      "SELECT count(*) FROM (SELECT 1 FROM task_execution_logs GROUP BY task_id, scheduled_for HAVING count(*) > 1)",
    ),
    "0",
    "two records for one firing",
  );
  const unfinished = sql(
    "SELECT count(*) FROM task_execution_logs WHERE status NOT IN ('success','failed','timed_out','skipped')",
  );
  assert.equal(unfinished, "0", "records left unfinished");
  const total = Number(sql("SELECT count(*) FROM task_execution_logs"));
  const interrupted = Number(
    sql("SELECT count(*) FROM task_execution_logs WHERE error_message = 'interrupted by restart'"),
  );
  const succeeded = Number(sql("SELECT count(*) FROM task_execution_logs WHERE status = 'success'"));
  assert.ok(interrupted >= tasks, `${interrupted} interrupted: the kills cut off running work`);
  assert.ok(succeeded > 0, "executions finished between the kills");
  // What the target received: "task scheduled-for" -> requests.
  const requests = new Map();
  for (const { headers } of target.requests) {
    const key = `${headers["x-cronkit-task-id"]} ${Date.parse(headers["x-cronkit-scheduled-for"])}`;
    requests.set(key, (requests.get(key) ?? 0) + 1);
  }
  // Every firing the target saw has its record; none was sent twice (at most once for an
  // attempt that may have started when its server died: it is recorded as interrupted);
  // every success was received exactly once.
  const records = sql("SELECT task_id || ' ' || scheduled_for || ' ' || status FROM task_execution_logs")
    .split("\n")
    .map((line) => line.split(" "))
    .map(([task, instant, status]) => ({ key: `${task} ${instant}`, status }));
  const recorded = new Set(records.map((r) => r.key));
  const unrecorded = [...requests.keys()].filter((k) => !recorded.has(k));
  assert.deepEqual(unrecorded.slice(0, 5), [], `${unrecorded.length} requests without a record`);
  const twice = [...requests.entries()].filter(([, n]) => n > 1).map(([key]) => key);
  assert.deepEqual(twice.slice(0, 5), [], `${twice.length} firings requested more than once`);
  const unsent = records.filter((r) => r.status === "success" && requests.get(r.key) !== 1);
  assert.deepEqual(unsent.slice(0, 5), [], `${unsent.length} successes the target did not receive`);
  const neverSent = interrupted - records.filter((r) => r.status === "failed" && requests.has(r.key)).length;
  ctx.diagnostic(
    `in flight at the kills: ${inFlight.join(", ")}; records: ${total}; interrupted: ${interrupted} (of which never received: ${neverSent}); success: ${succeeded}`,
  );
});

test("--start-before-stored is for SQLite: with PostgreSQL it is refused before anything opens", () => {
  const refused = spawnSync(
    defaultBinary(),
    ["serve", "--port", "0", "--db", "postgresql://cronkit@127.0.0.1:1/none", "--start-before-stored"],
    { encoding: "utf8", timeout: 10000 },
  );
  assert.equal(refused.status, 2, refused.stderr);
  assert.match(refused.stderr, /--start-before-stored is for SQLite/);
});
