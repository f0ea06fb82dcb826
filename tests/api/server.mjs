// Starts the real cronkit binary on a free loopback port with a fresh SQLite file.
import { spawn } from "node:child_process";
import { after, before } from "node:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(new URL("../..", import.meta.url).pathname);

export async function startServer({
  args = [],
  env = {},
  db = undefined, // a database URL to use instead of a fresh one
  binary = process.env.CRONKIT_BIN ?? join(root, "build/cronkit"),
  wrap = [], // a command that runs the server: [...wrap, binary, ...arguments]; it must exec
} = {}) {
  const dir = mkdtempSync(join(tmpdir(), "cronkit-api-"));
  const command = [
    ...wrap,
    binary,
    "serve",
    "--port",
    "0",
    "--db",
    db ?? `sqlite:${join(dir, "cronkit.db")}`,
    ...args,
  ];
  const child = spawn(command[0], command.slice(1), {
    env: { ...process.env, ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  const base = await new Promise((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${log}`)), 10000);
    child.stderr.on("data", (chunk) => {
      log += chunk;
      const m = /listening on (http:\/\/[0-9.]+:[0-9]+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolvePort(m[1]);
      }
    });
    child.on("exit", (code) => reject(new Error(`server exited with ${code}:\n${log}`)));
  });
  return {
    base,
    dir,
    pid: child.pid,
    log: () => log,
    // Stops the server; it must exit cleanly (a sanitizer report at exit fails here).
    async stop() {
      const exited = new Promise((r) => child.once("exit", (code, signal) => r({ code, signal })));
      child.kill("SIGTERM");
      const { code, signal } = await exited;
      rmSync(dir, { recursive: true, force: true });
      if (code !== 0) throw new Error(`server exited with ${code ?? signal}:\n${log}`);
    },
  };
}

// fetch with the API's conventions: JSON in and out.
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

export async function eventually(fn, timeoutMs = 5000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

// One server for a test file: started before its tests, stopped (and its exit checked)
// after them. Its fields are set once the server runs:
//   const t = serverForFile();  ...  await t.api("GET", "/healthz");  t.server.log();
export function serverForFile(options) {
  const t = { server: undefined, api: undefined };
  before(async () => {
    t.server = await startServer(options);
    t.api = client(t.server.base);
  });
  after(async () => t.server?.stop());
  return t;
}
