// Helpers for the cluster tests: a private PostgreSQL server, cronkit servers that can be
// killed and restarted, and an HTTP endpoint that records every request the tasks make.
import { spawn, execFileSync } from "node:child_process";
import { createWriteStream, mkdirSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { join, resolve } from "node:path";

export const root = resolve(new URL("../..", import.meta.url).pathname);
const binary = process.env.CRONKIT_BIN ?? join(root, "build/cronkit");
export const artifacts = join(root, "build/cluster-artifacts");

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// tests/support/postgres.sh start|stop|halt|resume STATE
export function postgres(command, state) {
  execFileSync(join(root, "tests/support/postgres.sh"), [command, state], { stdio: "inherit" });
  return command === "start" ? readFileSync(state, "utf8").trim() : undefined;
}

export function psql(url, sql) {
  return execFileSync("psql", ["-X", "-At", "-F", "\t", url, "-c", sql], {
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
}

// A cronkit server named `name` (its --node-id); its log goes to build/cluster-artifacts.
export class Node {
  constructor(name, dbUrl, args = []) {
    this.name = name;
    this.dbUrl = dbUrl;
    this.args = args;
    mkdirSync(artifacts, { recursive: true });
    this.logPath = join(artifacts, `${name}.log`);
    createWriteStream(this.logPath).end();
  }

  // Starts the server; resolves once it listens.
  start() {
    const log = createWriteStream(this.logPath, { flags: "a" });
    const child = spawn(
      binary,
      ["serve", "--port", "0", "--db", this.dbUrl, "--node-id", this.name, ...this.args],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    this.child = child;
    let text = "";
    let listening = false;
    return new Promise((resolveStart, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name} did not start:\n${text}`)), 15000);
      child.stderr.on("data", (chunk) => {
        log.write(chunk);
        if (listening) return;
        text += chunk;
        const m = /listening on (http:\/\/[0-9.]+:[0-9]+)/.exec(text);
        if (m) {
          listening = true;
          clearTimeout(timer);
          this.base = m[1];
          resolveStart(this.base);
        }
      });
      child.on("exit", (code, signal) => {
        log.end();
        if (!listening) reject(new Error(`${this.name} exited with ${code ?? signal}:\n${text}`));
      });
    });
  }

  running() {
    return this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  // Sends `signal`; resolves with the exit code or signal.
  stop(signal = "SIGTERM") {
    if (!this.running()) return Promise.resolve(null);
    const exited = new Promise((r) => this.child.once("exit", (code, sig) => r(code ?? sig)));
    this.child.kill(signal);
    return exited;
  }

  async api(method, path, body) {
    const res = await fetch(this.base + path, {
      method,
      headers: body ? { "content-type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = await res.json().catch(() => undefined);
    return { status: res.status, json };
  }
}

// Records every request: "taskId scheduledFor(ISO)" -> [{ execution, at }].
export async function startReceiver() {
  const received = new Map();
  const server = createServer((req, res) => {
    const at = new Date(req.headers["x-cronkit-scheduled-for"]).toISOString();
    const key = `${req.headers["x-cronkit-task-id"]} ${at}`;
    const seen = received.get(key) ?? [];
    seen.push({ execution: req.headers["x-cronkit-execution-id"], at: Date.now() });
    received.set(key, seen);
    req.resume();
    req.on("end", () => res.end("ok"));
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return {
    received,
    url: `http://127.0.0.1:${server.address().port}/hook`,
    close: () => server.close(),
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
