// What the server promises a security review: no scheme but http(s) for http tasks, not
// even through a redirect; a task's headers and body never in the log or the event stream;
// nosniff on every answer, a strict Content-Security-Policy on the UI, and no CORS unless
// an origin is configured. (auth.test.mjs checks the token on every route.)
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { connect } from "node:net";
import { defaultBinary } from "../support/harness.mjs";
import { eventually, serverForFile, startReceiver, startServer, client } from "./server.mjs";

const t = serverForFile({ args: ["--log-level", "debug"] });

// A target on loopback that records every request: /redirect?to=URL answers 302 to URL;
// anything else answers 200.
let target;
before(async () => {
  target = await startReceiver({
    respond(req, res, record) {
      req.on("data", (c) => (record.body += c));
      req.on("end", () => {
        const url = new URL(req.url, "http://x");
        if (url.pathname === "/redirect") {
          res.writeHead(302, { location: url.searchParams.get("to") });
          return res.end();
        }
        res.end("fine");
      });
    },
  });
});
after(() => target.close());
const targetUrl = (path) => target.url(path);

async function httpTask(fields) {
  const res = await t.api("POST", "/api/scheduler/tasks", {
    name: "security",
    cronExpression: "0 0 1 1 *",
    type: "http",
    timeoutSeconds: 5,
    ...fields,
  });
  assert.equal(res.status, 201, res.text);
  return res.json.data;
}

async function runOnce(task) {
  const id = (await t.api("POST", `/api/scheduler/tasks/${task.id}/trigger`)).json.data.executionId;
  return eventually(async () => {
    const e = (await t.api("GET", `/api/scheduler/executions/${id}`)).json.data;
    return ["success", "failed", "timed_out"].includes(e.status) ? e : undefined;
  }, 15000);
}

test("an http task cannot use another scheme", async () => {
  for (const scheme of [
    "file:///etc/passwd",
    "gopher://127.0.0.1/",
    "ftp://127.0.0.1/",
    "dict://127.0.0.1/",
    "ldap://127.0.0.1/",
    "smb://127.0.0.1/x",
    "telnet://127.0.0.1/",
    "tftp://127.0.0.1/x",
    "scp://127.0.0.1/x",
    "data:text/plain,hi",
    "javascript:alert(1)",
    "//127.0.0.1/",
    "127.0.0.1/",
  ]) {
    const res = await t.api("POST", "/api/scheduler/tasks", {
      name: "scheme",
      cronExpression: "* * * * *",
      type: "http",
      httpUrl: scheme,
    });
    assert.equal(res.status, 422, scheme);
    assert.equal(res.json.data[0].field, "httpUrl", scheme);
  }
});

test("a redirect cannot switch to another scheme", async () => {
  for (const to of [
    "file:///etc/passwd",
    "gopher://127.0.0.1:9/",
    "dict://127.0.0.1:9/",
    "ftp://127.0.0.1:9/",
  ]) {
    const task = await httpTask({ httpUrl: targetUrl(`/redirect?to=${encodeURIComponent(to)}`) });
    const e = await runOnce(task);
    assert.equal(e.status, "failed", to);
    assert.match(e.errorMessage, /protocol|scheme|redirect/i, `${to}: ${e.errorMessage}`);
    assert.ok(!(e.output ?? "").includes("root:"), "no file content");
  }
  // A redirect to http is followed.
  const task = await httpTask({
    httpUrl: targetUrl(`/redirect?to=${encodeURIComponent(targetUrl("/landed"))}`),
  });
  assert.equal((await runOnce(task)).status, "success");
});

test("a task's headers and body never reach the log or the event stream", async () => {
  const secretHeader = "header-secret-5f2c";
  const secretBody = "body-secret-91ad";
  const controller = new AbortController();
  let streamed = "";
  const res = await fetch(t.server.base + "/api/scheduler/events", { signal: controller.signal });
  const reader = res.body.getReader();
  const reading = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        streamed += Buffer.from(value).toString();
      }
    } catch {
      // aborted
    }
  })();

  const task = await httpTask({
    httpMethod: "POST",
    httpUrl: targetUrl("/hook"),
    httpHeaders: JSON.stringify({ "X-Api-Key": secretHeader, Authorization: `Bearer ${secretHeader}` }),
    httpBody: secretBody,
  });
  await t.api("PUT", `/api/scheduler/tasks/${task.id}`, {
    httpHeaders: JSON.stringify({ "X-Api-Key": secretHeader }),
  });
  assert.equal((await runOnce(task)).status, "success");
  await t.api("POST", `/api/scheduler/tasks/${task.id}/toggle`, { enabled: false });
  await eventually(() => streamed.includes("execution.finished") && streamed.includes("task.updated"));
  controller.abort();
  await reading;

  const got = target.requests.find((r) => r.headers["x-api-key"] === secretHeader);
  assert.ok(got, "the target received the header");
  assert.equal(got.body, secretBody);
  assert.ok(streamed.includes(task.id));
  await t.server.settleLog();
  for (const secret of [secretHeader, secretBody]) {
    assert.ok(!streamed.includes(secret), `${secret} in the event stream`);
    assert.ok(!t.server.log().includes(secret), `${secret} in the log`);
  }
});

// Every route the server knows, from its own description (a unit test checks that it
// lists exactly the router's routes), plus the UI, a redirect, unknown paths and a
// malformed request.
async function everyAnswer(api) {
  const doc = (await api("GET", "/api/openapi.json")).json;
  const out = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of Object.keys(item).filter((m) => m !== "parameters")) {
      if (path === "/api/scheduler/events") continue; // a stream: checked below
      const m = method.toUpperCase();
      out.push([m, path.replace("{id}", "missing"), m === "GET" || m === "DELETE" ? undefined : {}]);
    }
  }
  out.push(
    ["GET", "/", undefined],
    ["GET", "/admin/scheduler/", undefined],
    ["GET", "/admin/scheduler/nope", undefined],
    ["GET", "/admin/scheduler/assets/missing.js", undefined],
    ["GET", "/nope", undefined],
    ["GET", "/api/scheduler/tasks?page=x", undefined],
    ["OPTIONS", "/api/scheduler/tasks", undefined],
  );
  const answers = [];
  for (const [method, path, body] of out) {
    answers.push({
      what: `${method} ${path}`,
      res: await api(method, path, body, { origin: "http://evil.example" }),
    });
  }
  return answers;
}

test("every answer has nosniff and no CORS headers; the UI has a strict CSP", async () => {
  const answers = await everyAnswer(t.api);
  assert.ok(answers.length >= 20);
  for (const { what, res } of answers) {
    assert.equal(res.headers.get("x-content-type-options"), "nosniff", what);
    for (const [name] of res.headers) assert.ok(!name.startsWith("access-control-"), `${what}: ${name}`);
  }
  const preflight = answers.find((a) => a.what === "OPTIONS /api/scheduler/tasks").res;
  assert.ok(preflight.status >= 400, "a preflight is refused");

  const page = answers.find((a) => a.what === "GET /admin/scheduler/").res;
  const csp = page.headers.get("content-security-policy");
  const directives = Object.fromEntries(
    csp
      .split(";")
      .map((d) => d.trim().split(/\s+/))
      .map(([k, ...v]) => [k, v]),
  );
  assert.deepEqual(directives["default-src"], ["'self'"]);
  assert.deepEqual(directives["script-src"], ["'self'"], "no inline or eval'd scripts");
  assert.deepEqual(directives["frame-ancestors"], ["'none'"]);
  assert.deepEqual(directives["connect-src"], ["'self'"]);
  assert.ok(!csp.includes("*"), csp);

  // A malformed request is answered by the HTTP layer, with nosniff too.
  const raw = await new Promise((resolve) => {
    const socket = connect(Number(new URL(t.server.base).port), "127.0.0.1");
    let text = "";
    socket.on("data", (c) => (text += c));
    socket.on("close", () => resolve(text));
    socket.end("GARBAGE\r\n\r\n");
  });
  assert.match(raw, /^HTTP\/1\.1 400 /);
  assert.match(raw, /\r\nX-Content-Type-Options: nosniff\r\n/i);
});

test("an origin that is not scheme://host[:port] stops the server at start", () => {
  for (const bad of ["ops.example.com", "https://ops.example.com/", "https://ops.example.com/x"]) {
    const refused = spawnSync(defaultBinary(), ["serve", "--port", "0", "--cors-origin", bad], {
      encoding: "utf8",
      timeout: 10000,
    });
    assert.equal(refused.status, 2, bad);
    assert.match(refused.stderr, /--cors-origin.*must be scheme:\/\/host\[:port\]/s, bad);
  }
});

test("CORS only for a configured origin, exactly", async () => {
  const origin = "https://ops.example.com";
  const server = await startServer({ args: ["--cors-origin", origin, "--api-token", "tok"] });
  try {
    const api = client(server.base);
    const preflight = await api("OPTIONS", "/api/scheduler/tasks", undefined, {
      origin,
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization, content-type",
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get("access-control-allow-origin"), origin);
    assert.match(preflight.headers.get("access-control-allow-headers"), /Authorization/);
    const list = await api("GET", "/api/scheduler/tasks", undefined, { origin, authorization: "Bearer tok" });
    assert.equal(list.status, 200);
    assert.equal(list.headers.get("access-control-allow-origin"), origin);
    assert.equal(list.headers.get("vary"), "Origin");
    for (const other of [
      "https://ops.example.com.evil.example",
      "http://ops.example.com",
      "null",
      "https://OPS.example.com",
    ]) {
      const res = await api("GET", "/api/scheduler/tasks", undefined, {
        origin: other,
        authorization: "Bearer tok",
      });
      assert.equal(res.headers.get("access-control-allow-origin"), null, other);
      const pre = await api("OPTIONS", "/api/scheduler/tasks", undefined, {
        origin: other,
        "access-control-request-method": "POST",
      });
      assert.ok(pre.status >= 400, `${other}: ${pre.status}`);
    }
  } finally {
    await server.stop();
  }
  for (const bad of ["*", "ops.example.com", "https://ops.example.com/path", "ftp://x"]) {
    await assert.rejects(startServer({ args: ["--cors-origin", bad] }), /cors-origin|ORIGIN|scheme/, bad);
  }
});
