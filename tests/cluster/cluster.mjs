// Helpers for the cluster tests, on the shared harness (tests/support/harness.mjs): a
// private PostgreSQL server, cronkit servers that can be killed and restarted, and an HTTP
// endpoint that records every request the tasks make.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Server, root, sleep, startReceiver as receiver } from "../support/harness.mjs";

export { eventually, root, sleep } from "../support/harness.mjs";
export const artifacts = join(root, "build/cluster-artifacts");

// tests/support/postgres.sh start|stop|halt|resume|primary|kill|promote STATE, or
// standby STATE PRIMARY_STATE; returns the server's URL after start, primary and standby.
export function postgres(command, state, ...args) {
  execFileSync(join(root, "tests/support/postgres.sh"), [command, state, ...args], { stdio: "inherit" });
  return ["start", "primary", "standby"].includes(command) ? readFileSync(state, "utf8").trim() : undefined;
}

export function psql(url, sql) {
  return execFileSync("psql", ["-X", "-At", "-F", "\t", url, "-c", sql], {
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
}

// A cronkit server named `name` (its --node-id) on the database at `dbUrl`; its log goes
// to build/cluster-artifacts. start() again after a stop or a kill.
export class Node extends Server {
  constructor(name, dbUrl, args = []) {
    super({ db: dbUrl, args: ["--node-id", name, ...args], logPath: join(artifacts, `${name}.log`) });
    this.name = name;
  }
}

// Records every request; `received` maps "taskId scheduledFor(ISO)" to [{ execution, at }]
// (built anew at each read: keep it while it is used).
export async function startReceiver() {
  const r = await receiver();
  return {
    url: r.url("/hook"),
    get received() {
      const received = new Map();
      for (const { headers, at } of r.requests) {
        const key = `${headers["x-cronkit-task-id"]} ${new Date(headers["x-cronkit-scheduled-for"]).toISOString()}`;
        const seen = received.get(key) ?? [];
        seen.push({ execution: headers["x-cronkit-execution-id"], at });
        received.set(key, seen);
      }
      return received;
    },
    close: () => r.close(),
  };
}

// The executions in the database, oldest instant first.
export function executions(dbUrl) {
  return psql(
    dbUrl,
    `SELECT task_id, scheduled_for, status, "trigger", node_id, id, started_at - scheduled_for
       FROM task_execution_logs ORDER BY scheduled_for, id`,
  )
    .trim()
    .split("\n")
    .filter((line) => line)
    .map((line) => {
      const [taskId, at, status, trigger, node, id, lag] = line.split("\t");
      return { taskId, at: Number(at), status, trigger, node, id, lag: Number(lag) };
    });
}

// Waits until no execution is queued or running; returns how many still are.
export async function drained(dbUrl, timeoutMs = 30000) {
  let unfinished = -1;
  for (let waited = 0; waited < timeoutMs; waited += 500) {
    await sleep(500);
    unfinished = Number(
      psql(dbUrl, "SELECT count(*) FROM task_execution_logs WHERE status IN ('queued', 'running')"),
    );
    if (unfinished === 0) break;
  }
  return unfinished;
}
