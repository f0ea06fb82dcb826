// SIGKILL during heavy firing: 1,000 http tasks fire every second against a loopback
// target that answers after 1.5 s, so that well over 1,000 executions are in flight when
// the server is killed, twice. After a last restart every firing has exactly one record,
// and every record is terminal.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { client, eventually, startReceiver, startServer } from "./server.mjs";

const tasks = 1000;
let target; // answers after 1.5 s
before(async () => {
  target = await startReceiver({
    backlog: 4096,
    respond(req, res) {
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
  process.kill(server.pid, "SIGKILL");
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
  // Every firing the target saw has its record. "task scheduled-for" -> requests received:
  const requests = new Map();
  for (const { headers } of target.requests) {
    const key = `${headers["x-cronkit-task-id"]} ${Date.parse(headers["x-cronkit-scheduled-for"])}`;
    requests.set(key, (requests.get(key) ?? 0) + 1);
  }
  const recorded = new Set(
    sql("SELECT task_id || ' ' || scheduled_for FROM task_execution_logs").split("\n"),
  );
  const unrecorded = [...requests.keys()].filter((k) => !recorded.has(k));
  assert.deepEqual(unrecorded.slice(0, 5), [], `${unrecorded.length} requests without a record`);
  const twice = [...requests.values()].filter((n) => n > 1).length;
  ctx.diagnostic(
    `in flight at the kills: ${inFlight.join(", ")}; records: ${total}; interrupted: ${interrupted}; success: ${succeeded}; firings requested twice: ${twice}`,
  );
});
