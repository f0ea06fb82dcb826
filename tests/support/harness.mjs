// What every JavaScript test of cronkit uses (tests/api, tests/cluster, web/e2e): the real
// binary started on a free loopback port, a JSON client for its API, a wait for a
// condition, and a loopback endpoint that records the requests tasks make.
import { spawn } from "node:child_process";
import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";

export const root = resolve(new URL("../..", import.meta.url).pathname);
export const defaultBinary = () => process.env.CRONKIT_BIN ?? join(root, "build/cronkit");
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Directories of the servers this process started, removed when it exits.
const directories = [];
process.on("exit", () => {
  for (const dir of directories) rmSync(dir, { recursive: true, force: true });
});

// A cronkit server: `cronkit serve --port 0` on a fresh SQLite file in a directory of its
// own (or on `db`), started again by start() after a stop or a kill.
//   const s = new Server({ args: ["--max-concurrency", "10"] });  await s.start();
//   await s.api("GET", "/healthz");  await s.stop();
export class Server {
  constructor({
    args = [],
    env = {},
    db = undefined, // a database URL to use instead of a fresh SQLite file
    binary = defaultBinary(),
    wrap = [], // a command that runs the server: [...wrap, binary, ...arguments]; it must exec
    logPath = undefined, // also append the server's log to this file
    startTimeoutMs = 15000,
  } = {}) {
    this.dir = mkdtempSync(join(tmpdir(), "cronkit-test-"));
    directories.push(this.dir);
    this.command = [
      ...wrap,
      binary,
      "serve",
      "--port",
      "0",
      "--db",
      db ?? `sqlite:${join(this.dir, "cronkit.db")}`,
      ...args,
    ];
    this.env = env;
    this.logPath = logPath;
    this.startTimeoutMs = startTimeoutMs;
    this.text = "";
    if (logPath) {
      mkdirSync(dirname(logPath), { recursive: true });
      createWriteStream(logPath).end();
    }
  }

  // Starts the server; resolves with its address once it listens.
  start() {
    const child = spawn(this.command[0], this.command.slice(1), {
      // No config file unless a test gives one: not the machine's /etc/cronkit/cronkit.toml.
      env: { CRONKIT_CONFIG: "/dev/null", ...process.env, ...this.env },
      stdio: ["ignore", "ignore", "pipe"],
    });
    this.child = child;
    this.text = "";
    const file = this.logPath ? createWriteStream(this.logPath, { flags: "a" }) : undefined;
    let listening = false;
    return new Promise((resolveStart, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`server did not start:\n${this.text}`)),
        this.startTimeoutMs,
      );
      child.stderr.on("data", (chunk) => {
        file?.write(chunk);
        this.text += chunk;
        if (listening) return;
        const m = /listening on (http:\/\/[0-9.]+:[0-9]+)/.exec(this.text);
        if (m) {
          listening = true;
          clearTimeout(timer);
          this.base = m[1];
          this.api = client(this.base);
          resolveStart(this.base);
        }
      });
      child.on("exit", (code, signal) => {
        file?.end();
        if (!listening) {
          clearTimeout(timer);
          reject(new Error(`server exited with ${code ?? signal}:\n${this.text}`));
        }
      });
    });
  }

  get pid() {
    return this.child?.pid;
  }

  // What the server has logged since it last started.
  log() {
    return this.text;
  }

  // Waits until every line logged so far has reached the log: lines are written by the
  // server's log thread, in order, so a request's line that arrives shows that all before
  // it did. Needs --log-level debug (each request gets a line).
  async settleLog() {
    const marker = `/settle-log-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    await fetch(this.base + marker);
    await eventually(() => this.text.includes(marker), 10000, `${marker} in the log`);
  }

  running() {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  // Sends `signal` and resolves with the exit code or signal (null if it was not running).
  // After SIGTERM the server must exit cleanly: a sanitizer report at exit fails here.
  async stop(signal = "SIGTERM") {
    if (!this.running()) return null;
    const exited = new Promise((r) => this.child.once("exit", (code, sig) => r({ code, sig })));
    this.child.kill(signal);
    const { code, sig } = await exited;
    if (signal === "SIGTERM" && code !== 0) {
      throw new Error(`server exited with ${code ?? sig}:\n${this.text}`);
    }
    return code ?? sig;
  }
}

export async function startServer(options) {
  const server = new Server(options);
  await server.start();
  return server;
}

// fetch with the API's conventions: JSON in and out.
//   const api = client(base);  const { status, json } = await api("POST", "/api/...", body);
export function client(base) {
  return async function call(method, path, body, headers = {}) {
    const init = { method, headers: { ...headers } };
    if (body !== undefined) {
      init.body = typeof body === "string" ? body : JSON.stringify(body);
      init.headers["content-type"] ??= "application/json";
    }
    const res = await fetch(base + path, init);
    const text = await res.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, json, text };
  };
}

// Waits until fn() returns something truthy, and returns it; fails after `timeoutMs`.
export async function eventually(fn, timeoutMs = 5000, what = "condition", intervalMs = 20) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}

// An HTTP endpoint on loopback that records every request: { method, path, headers, body,
// at } in `requests` (the body once it has arrived). `respond(req, res, record)` answers;
// by default, 200 "ok" once the body is read. Open connections are cut at close().
//   const r = await startReceiver();  ... r.url("/hook") ...  r.requests;  r.close();
export async function startReceiver({ respond, backlog = 511, host = "127.0.0.1" } = {}) {
  const requests = [];
  const sockets = new Set();
  const server = createServer((req, res) => {
    const record = {
      method: req.method,
      path: req.url,
      headers: req.headers,
      body: "",
      at: Date.now(),
    };
    requests.push(record);
    if (respond) return respond(req, res, record);
    req.on("data", (c) => (record.body += c));
    req.on("end", () => res.end("ok"));
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.maxConnections = 20000;
  await new Promise((r) => server.listen({ port: 0, host, backlog }, r));
  const port = server.address().port;
  return {
    server,
    requests,
    port,
    url: (path = "/") => `http://${host}:${port}${path}`,
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

// An SMTP server on loopback (tests/support/smtp_receiver.py, on Debian's python3-aiosmtpd):
// `messages` holds each accepted message ({from, to, data, authenticated}). With a
// `password`, AUTH succeeds for the user "cronkit" with it. No STARTTLS.
export async function startSmtpReceiver({ password } = {}) {
  const args = [join(root, "tests/support/smtp_receiver.py")];
  if (password) args.push("--password", password);
  // Debian's own Python, which python3-aiosmtpd is installed for (not one earlier on PATH).
  const child = spawn("/usr/bin/python3", args, { stdio: ["pipe", "pipe", "inherit"] });
  const messages = [];
  let buffered = "";
  const port = await new Promise((resolvePort, reject) => {
    child.on("exit", (code) => reject(new Error(`smtp_receiver.py exited with ${code}`)));
    child.stdout.on("data", (chunk) => {
      buffered += chunk;
      let newline;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        const line = JSON.parse(buffered.slice(0, newline));
        buffered = buffered.slice(newline + 1);
        if (line.port) resolvePort(line.port);
        else messages.push(line);
      }
    });
  });
  return {
    port,
    messages,
    url: (scheme = "smtp") => `${scheme}://127.0.0.1:${port}`,
    close() {
      child.stdin.end();
      child.kill();
    },
  };
}

// Collects a server's event stream as {event, data, text}, until stopped. `ready` resolves
// once the server has subscribed the stream (its ": connected" arrived): every event
// published from then on is collected.
//   const stream = listenEvents(base); await stream.ready; ...; stream.stop();
export function listenEvents(base, { headers = {} } = {}) {
  const controller = new AbortController();
  const events = [];
  let raw = "";
  let connected;
  const subscribed = new Promise((resolve) => (connected = resolve));
  const ready = fetch(base + "/api/scheduler/events", { headers, signal: controller.signal }).then(
    async (res) => {
      if (res.status !== 200 || res.headers.get("content-type") !== "text/event-stream") {
        throw new Error(`the event stream answered ${res.status} ${res.headers.get("content-type")}`);
      }
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      (async () => {
        try {
          for (;;) {
            const { value, done } = await reader.read();
            if (done) return;
            raw += decoder.decode(value, { stream: true });
            let end;
            while ((end = raw.indexOf("\n\n")) >= 0) {
              const block = raw.slice(0, end);
              raw = raw.slice(end + 2);
              if (/^: connected$/m.test(block)) connected();
              const event = /^event: (.*)$/m.exec(block)?.[1];
              const data = /^data: (.*)$/m.exec(block)?.[1];
              if (event) events.push({ event, data: JSON.parse(data), text: block });
            }
          }
        } catch {
          // aborted
        }
      })();
      await subscribed;
    },
  );
  return { events, ready, stop: () => controller.abort() };
}
