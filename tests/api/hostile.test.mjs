// Hostile input against the real binary: malformed HTTP, malformed and adversarial JSON,
// path tricks, header floods, slow clients and pipelined garbage. Every request gets a 4xx
// or a closed connection (never a 5xx, never a hang), the server stays up, and the database
// file is byte for byte what it was before the first request.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { serverForFile } from "./server.mjs";

const t = serverForFile({ args: ["--request-timeout", "2"] });

const port = () => Number(new URL(t.server.base).port);

// The database file and its write-ahead log, hashed.
function fingerprint() {
  const hash = createHash("sha256");
  for (const name of ["cronkit.db", "cronkit.db-wal"]) {
    const path = join(t.server.dir, name);
    hash.update(`${name}:`);
    if (existsSync(path)) hash.update(readFileSync(path));
  }
  return hash.digest("hex");
}

// The status codes of every response in `bytes`, in order.
function statuses(bytes) {
  const out = [];
  let at = 0;
  for (;;) {
    const head = bytes.indexOf("\r\n\r\n", at);
    if (head < 0) break;
    const text = bytes.subarray(at, head).toString("latin1");
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
    if (!m) break;
    out.push(Number(m[1]));
    const length = /\r\ncontent-length: *(\d+)/i.exec(text);
    if (!length) break; // a streamed body runs to the end of the connection
    at = head + 4 + Number(length[1]);
  }
  return out;
}

// Sends `parts` on a new connection (a Buffer or string each, `gapMs` apart), half-closes
// unless `keepOpen`, and resolves once the server has closed the connection, with the
// statuses it answered. Fails if the server keeps the connection for `limitMs`.
function exchange(parts, { gapMs = 0, keepOpen = false, limitMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const socket = connect(port(), "127.0.0.1");
    const chunks = [];
    let timer;
    const started = Date.now();
    socket.on("data", (c) => chunks.push(c));
    socket.on("error", () => {}); // a reset is a closed connection too
    socket.on("close", () => {
      clearTimeout(timer);
      resolve({ statuses: statuses(Buffer.concat(chunks)), ms: Date.now() - started });
    });
    timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the connection open for ${limitMs} ms`));
    }, limitMs);
    socket.on("connect", async () => {
      for (const part of parts) {
        if (socket.destroyed) return;
        socket.write(part);
        if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
      }
      if (!keepOpen && !socket.destroyed) socket.end();
    });
  });
}

// A whole HTTP/1.1 request.
function request(method, target, { body, type = "application/json", headers = "" } = {}) {
  const payload = body === undefined ? Buffer.alloc(0) : Buffer.from(body);
  let head = `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}`;
  if (body !== undefined) {
    if (type) head += `Content-Type: ${type}\r\n`;
    head += `Content-Length: ${payload.length}\r\n`;
  }
  return Buffer.concat([Buffer.from(`${head}\r\n`, "latin1"), payload]);
}

const create = (body, options) => request("POST", "/api/scheduler/tasks", { body, ...options });

const valid = {
  name: "would be created",
  cronExpression: "0 0 3 * * *",
  type: "function",
  functionName: "cleanup-logs",
};
const validHttp = {
  name: "would be created",
  cronExpression: "0 0 3 * * *",
  type: "http",
  httpUrl: "http://127.0.0.1:9/",
};
const withField = (base, key, raw) => {
  const rest = JSON.stringify(base).slice(1);
  return `{${JSON.stringify(key)}:${raw},${rest}`;
};

function hostileRequests(taskId) {
  const cases = [];
  const add = (what, bytes) => cases.push({ what, bytes });

  // Broken JSON.
  for (const body of [
    "",
    " ",
    "{",
    "}",
    '{"name":',
    '{"name":"a"',
    '{"name":"a",}',
    "[1,2",
    "nul",
    "tru",
    '{"a":1}}',
    '{"a":1} x',
    "{'name':'a'}",
    "{name:1}",
    '{"a":01}',
    '{"a":.5}',
    '{"a":1e}',
    '{"a":+1}',
    '{"a":0x10}',
    '{"a":NaN}',
    '{"a":Infinity}',
    "/* comment */ {}",
    '{"a":1 // comment\n}',
    '{"a":"\\x41"}',
    '{"a":"\\u00"}',
    '{"a":"unterminated}',
    '{"a"\u00a0:1}',
  ]) {
    add(`broken JSON ${JSON.stringify(body)}`, create(body));
  }

  // Deeply nested JSON.
  add("33 nested arrays", create("[".repeat(33) + "]".repeat(33)));
  add("33 nested objects", create('{"a":'.repeat(33) + "1" + "}".repeat(33)));
  add("100,000 nested arrays", create("[".repeat(100000) + "]".repeat(100000)));
  add("600,000 open arrays (over the body limit)", create("[".repeat(600000)));
  add("deep value in a valid task", create(withField(valid, "functionPayload", `"${"[".repeat(5000)}"`)));
  add("deep array as the name", create(withField(valid, "name", "[".repeat(30) + "]".repeat(30))));

  // Huge and wrong numbers.
  for (const field of ["maxRetries", "retryDelaySeconds", "timeoutSeconds"]) {
    for (const raw of [
      "1e400",
      "-1e400",
      "9223372036854775808",
      "-9223372036854775809",
      "18446744073709551616",
      "1.5",
      "2147483648",
      "-1",
      "0.5",
    ]) {
      add(`${field}: ${raw}`, create(withField(valid, field, raw)));
    }
  }

  // Huge strings.
  add("name of 201 characters", create(JSON.stringify({ ...valid, name: "x".repeat(201) })));
  add("name of 100,000 characters", create(JSON.stringify({ ...valid, name: "é".repeat(100000) })));
  add(
    "cron pattern of 500,000 characters",
    create(JSON.stringify({ ...valid, cronExpression: "1,".repeat(250000) + "1" })),
  );
  add(
    "URL of 900,000 characters",
    create(JSON.stringify({ ...validHttp, httpUrl: `http://a/${"x".repeat(900000)}` })),
  );
  add("body of 2 MiB", create(JSON.stringify({ ...valid, functionPayload: "x".repeat(2 << 20) })));
  add(
    "time zone of 10,000 characters",
    create(JSON.stringify({ ...valid, timezone: "Europe/".repeat(1500) })),
  );

  // Wrong types for every field.
  const strings = [
    "name",
    "cronExpression",
    "timezone",
    "functionName",
    "functionPayload",
    "httpMethod",
    "httpUrl",
    "httpHeaders",
    "httpBody",
  ];
  for (const field of strings) {
    for (const raw of ["123", "[]", "{}", "true"]) {
      add(`${field}: ${raw}`, create(withField(field.startsWith("http") ? validHttp : valid, field, raw)));
    }
  }
  for (const field of ["catchUp", "enabled"]) {
    for (const raw of ['"yes"', "2", "[]", "{}", "null"])
      add(`${field}: ${raw}`, create(withField(valid, field, raw)));
  }
  for (const field of ["maxRetries", "retryDelaySeconds", "timeoutSeconds"]) {
    for (const raw of ['"5"', "true", "[]", "{}"])
      add(`${field}: ${raw}`, create(withField(valid, field, raw)));
  }
  for (const [field, raw] of [
    ["type", '"shell"'],
    ["type", "null"],
    ["overlapPolicy", '"queue"'],
    ["overlapPolicy", "1"],
    ["name", "null"],
    ["cronExpression", "null"],
    ["id", '"chosen"'],
    ["createdAt", "1"],
    ["__proto__", "{}"],
    ["constructor", '{"prototype":{}}'],
  ]) {
    add(`${field}: ${raw}`, create(withField(valid, field, raw)));
  }
  for (const body of ["[]", "null", "1", '"task"', "true"]) add(`body ${body}`, create(body));

  // NUL bytes.
  add("NUL in the name", create(JSON.stringify({ ...valid, name: "a\u0000b" })));
  add(
    "NUL in the URL",
    create(JSON.stringify({ ...validHttp, httpUrl: "http://127.0.0.1/\u0000http://evil/" })),
  );
  add("NUL in a header", create(JSON.stringify({ ...validHttp, httpHeaders: '{"A":"b\\u0000c"}' })));
  add("raw NUL inside a JSON string", create(Buffer.from('{"name":"a\u0000b"}', "latin1")));
  add("NUL in the path", request("DELETE", `/api/scheduler/tasks/${taskId}%00`));
  add(
    "raw NUL in the path",
    Buffer.from(`DELETE /api/scheduler/tasks/${taskId}\u0000 HTTP/1.1\r\nHost: a\r\n\r\n`, "latin1"),
  );
  add(
    "NUL in a header name",
    Buffer.from("GET /healthz HTTP/1.1\r\nHost: a\r\nX\u0000Y: 1\r\n\r\n", "latin1"),
  );
  add(
    "NUL in a header value",
    Buffer.from(
      "POST /api/scheduler/tasks HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\u0000\r\nContent-Length: 2\r\n\r\n{}",
      "latin1",
    ),
  );

  // Invalid UTF-8.
  for (const [what, bytes] of [
    ["0xff", [0xff]],
    ["bad continuation", [0xc3, 0x28]],
    ["overlong slash", [0xc0, 0xaf]],
    ["UTF-16 surrogate", [0xed, 0xa0, 0x80]],
    ["truncated", [0xe2, 0x82]],
    ["beyond U+10FFFF", [0xf4, 0x90, 0x80, 0x80]],
  ]) {
    const name = Buffer.concat([
      Buffer.from('{"name":"a'),
      Buffer.from(bytes),
      Buffer.from('","cronExpression":"0 0 3 * * *","type":"function","functionName":"cleanup-logs"}'),
    ]);
    add(`invalid UTF-8 in the name (${what})`, create(name));
  }
  add(
    "UTF-16 body",
    create(Buffer.from(JSON.stringify(valid), "utf16le"), { type: "application/json; charset=utf-16" }),
  );
  add("invalid UTF-8 in the search", request("GET", "/api/scheduler/tasks?search=%ff%fe"));
  add(
    "invalid UTF-8 in the path",
    Buffer.from([
      ...Buffer.from("DELETE /api/scheduler/tasks/"),
      0xff,
      0xfe,
      ...Buffer.from(" HTTP/1.1\r\nHost: a\r\n\r\n"),
    ]),
  );

  // Duplicate keys, in bodies that would otherwise be accepted.
  add(
    "duplicate name",
    create(
      '{"name":"a","name":"b","cronExpression":"0 0 3 * * *","type":"function","functionName":"cleanup-logs"}',
    ),
  );
  add(
    "duplicate type",
    create(
      '{"name":"a","type":"http","cronExpression":"0 0 3 * * *","type":"function","functionName":"cleanup-logs"}',
    ),
  );
  add(
    "duplicate, escaped",
    create(
      '{"name":"a","n\\u0061me":"b","cronExpression":"0 0 3 * * *","type":"function","functionName":"cleanup-logs"}',
    ),
  );
  add(
    "duplicate in an update",
    request("PUT", `/api/scheduler/tasks/${taskId}`, { body: '{"name":"a","name":"b"}' }),
  );
  add(
    "duplicate in a toggle",
    request("POST", `/api/scheduler/tasks/${taskId}/toggle`, { body: '{"enabled":false,"enabled":true}' }),
  );

  // Path tricks.
  for (const [method, target] of [
    ["DELETE", `/api/scheduler/tasks/../tasks/${taskId}`],
    ["DELETE", `/api/scheduler/tasks/%2e%2e/tasks/${taskId}`],
    ["DELETE", `/api/scheduler/tasks/${taskId}/.`],
    ["DELETE", `//api/scheduler/tasks/${taskId}`],
    ["DELETE", `/api/scheduler//tasks/${taskId}`],
    ["DELETE", `/api/scheduler/tasks/${taskId}/`],
    ["DELETE", `/API/SCHEDULER/TASKS/${taskId}`],
    ["DELETE", `/api/scheduler/tasks/${taskId};x`],
    ["DELETE", `/api/scheduler/tasks/${taskId}%2f`],
    ["DELETE", `/api/scheduler/tasks/${taskId.toUpperCase()}`],
    ["DELETE", "/api/scheduler/tasks/' OR '1'='1"],
    ["DELETE", "/api/scheduler/tasks/%27%20OR%20%271%27%3D%271"],
    ["DELETE", `http://127.0.0.1/api/scheduler/tasks/${taskId}`],
    ["DELETE", "*"],
    ["GET", "/admin/scheduler/../../../etc/passwd"],
    ["GET", "/admin/scheduler/%2e%2e/%2e%2e/etc/passwd"],
    ["GET", "/admin/scheduler/..%2f..%2fetc%2fpasswd"],
    ["GET", "/admin/scheduler/assets/..\\..\\..\\etc\\passwd"],
    ["GET", "/admin/scheduler/%00"],
    ["GET", "/admin/scheduler/index.html%00.js"],
    ["GET", `/${"a/".repeat(5000)}`],
    ["GET", "/api/scheduler/tasks/%zz"],
    ["POST", `/api/scheduler/tasks/${taskId}/trigger/../toggle`],
  ]) {
    add(
      `${method} ${target.slice(0, 60)}`,
      request(method, target, method === "POST" ? { body: '{"enabled":false}' } : {}),
    );
  }

  // Query tricks.
  for (const query of [
    "page=-1",
    "page=0",
    "page=abc",
    "page=1e99",
    "page=99999999999999999999",
    "pageSize=0",
    "pageSize=100000",
    "sortBy=name;DROP TABLE scheduled_tasks",
    "sortOrder=sideways",
    "type=shell",
    "enabled=maybe",
    "status=%zz",
    "page=1&page=2",
  ]) {
    add(`query ${query}`, request("GET", `/api/scheduler/tasks?${query}`));
  }
  add("execution status unknown", request("GET", "/api/scheduler/executions?status=exploded"));

  // Headers.
  add("16 KiB of small headers", create(JSON.stringify(valid), { headers: "X-Flood: 1\r\n".repeat(2000) }));
  add("one 20 KiB header", create(JSON.stringify(valid), { headers: `X-Big: ${"a".repeat(20000)}\r\n` }));
  add(
    "no Host header",
    Buffer.from(
      `POST /api/scheduler/tasks HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: ${JSON.stringify(valid).length}\r\n\r\n${JSON.stringify(valid)}`,
    ),
  );
  add("two Host headers", create(JSON.stringify(valid), { headers: "Host: evil.example\r\n" }));
  add("two different Content-Lengths", create(JSON.stringify(valid), { headers: "Content-Length: 3\r\n" }));
  add(
    "Content-Length and chunked",
    create(JSON.stringify(valid), { headers: "Transfer-Encoding: chunked\r\n" }),
  );
  add(
    "negative Content-Length",
    Buffer.from(
      "POST /api/scheduler/tasks HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: -1\r\n\r\n{}",
    ),
  );
  add(
    "Content-Length in exponent form",
    Buffer.from(
      "POST /api/scheduler/tasks HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 1e1\r\n\r\n{}",
    ),
  );
  add(
    "Content-Length longer than the body",
    Buffer.from(
      "POST /api/scheduler/tasks HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{}",
    ),
  );
  add(
    "huge Content-Length",
    Buffer.from(
      "POST /api/scheduler/tasks HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 99999999999999999999999\r\n\r\n{}",
    ),
  );
  add(
    "chunk size overflow",
    Buffer.from(
      "POST /api/scheduler/tasks HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n{}\r\n0\r\n\r\n",
    ),
  );
  add(
    "chunk size not hex",
    Buffer.from(
      "POST /api/scheduler/tasks HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    ),
  );
  add(
    "gzip transfer coding",
    Buffer.from(
      "POST /api/scheduler/tasks HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip\r\n\r\n{}",
    ),
  );
  add(
    "header line folding",
    Buffer.from(
      "POST /api/scheduler/tasks HTTP/1.1\r\nHost: a\r\nContent-Type:\r\n application/json\r\nContent-Length: 2\r\n\r\n{}",
    ),
  );
  add("header without a colon", Buffer.from("GET /healthz HTTP/1.1\r\nHost: a\r\nNoColonHere\r\n\r\n"));
  add(
    "space before the colon",
    Buffer.from("POST /api/scheduler/tasks HTTP/1.1\r\nHost: a\r\nContent-Length : 2\r\n\r\n{}"),
  );
  add("text/plain body", create(JSON.stringify(valid), { type: "text/plain" }));
  add("no Content-Type", create(JSON.stringify(valid), { type: "" }));
  add("application/jsonx", create(JSON.stringify(valid), { type: "application/jsonx" }));
  add("form body", create("name=a&type=function", { type: "application/x-www-form-urlencoded" }));

  // Request lines.
  for (const line of [
    "GET /healthz HTTP/2.0",
    "GET /healthz HTTP/1.7",
    "GET /healthz HTTP/01.1",
    "GET /healthz HTTP/1.1 extra",
    "GET  /healthz HTTP/1.1",
    "GET /healthz",
    "GET",
    "",
    "\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u0001\u00fc\u0003\u0003",
    `${"A".repeat(10000)} /healthz HTTP/1.1`,
    "GET /he althz HTTP/1.1",
  ]) {
    add(
      `request line ${JSON.stringify(line.slice(0, 40))}`,
      Buffer.from(`${line}\r\nHost: a\r\n\r\n`, "latin1"),
    );
  }
  add("HTTP/2 preface", Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
  add("bare line feeds", Buffer.from("POST /api/scheduler/tasks HTTP/1.1\nHost: a\nContent-Length: 2\n\n{}"));
  for (const method of ["TRACE", "CONNECT", "OPTIONS", "PROPFIND", "get", "PATCH"]) {
    add(
      `${method} on the tasks`,
      request(method, method === "CONNECT" ? "127.0.0.1:3399" : "/api/scheduler/tasks", {
        headers: "Origin: http://evil.example\r\nAccess-Control-Request-Method: POST\r\n",
      }),
    );
  }

  // Bodies where none belongs, and the reverse.
  add("trigger with a body", request("POST", "/api/scheduler/tasks/missing/trigger", { body: "{}" }));
  add("toggle without a body", request("POST", `/api/scheduler/tasks/${taskId}/toggle`));
  add("update without a body", request("PUT", `/api/scheduler/tasks/${taskId}`));
  add(
    "preview of garbage",
    request("POST", "/api/scheduler/cron/preview", { body: '{"cronExpression":"\\u0000"}' }),
  );
  add(
    "preview of a huge count",
    request("POST", "/api/scheduler/cron/preview", { body: '{"cronExpression":"* * * * * *","count":1e12}' }),
  );
  add(
    "preview in a made-up zone",
    request("POST", "/api/scheduler/cron/preview", {
      body: '{"cronExpression":"* * * * *","timezone":"../../etc/passwd"}',
    }),
  );
  return cases;
}

test("hostile requests get a 4xx or a closed connection and change nothing", async (ctx) => {
  const seeded = await t.api("POST", "/api/scheduler/tasks", {
    name: "target",
    cronExpression: "0 0 1 1 *",
    type: "function",
    functionName: "cleanup-logs",
  });
  assert.equal(seeded.status, 201);
  const taskId = seeded.json.data.id;
  await new Promise((r) => setTimeout(r, 300)); // let the create settle on disk
  const before = fingerprint();

  const cases = hostileRequests(taskId);
  let sent = 0;
  for (const { what, bytes } of cases) {
    const { statuses: got } = await exchange([bytes]);
    sent++;
    for (const status of got) {
      assert.ok(status >= 400 && status < 500, `${what}: answered ${status}`);
    }
    assert.ok(got.length <= 1, `${what}: ${got.length} answers to one request`);
  }

  // Slow clients: twenty connections dribbling a header a byte every 100 ms are cut off by
  // the request timeout (2 s here), while others are served.
  const slow = Array.from({ length: 20 }, () =>
    exchange(
      [...Buffer.from("POST /api/scheduler/tasks HTTP/1.1\r\nHost: a\r\nX-Slow: " + "z".repeat(200))].map(
        (b) => Buffer.from([b]),
      ),
      {
        gapMs: 100,
        keepOpen: true,
        limitMs: 6000,
      },
    ),
  );
  const during = await t.api("GET", "/healthz");
  assert.equal(during.status, 200, "served while slow clients hang on");
  for (const { statuses: got, ms } of await Promise.all(slow)) {
    assert.ok(ms < 5000, `a slow client was cut off after ${ms} ms`);
    for (const status of got) assert.ok(status >= 400 && status < 500, `slow client: ${status}`);
  }
  sent += slow.length;

  // A slow body: the header at once, the body a byte every 100 ms, never complete in time.
  const slowBody = await exchange(
    [
      Buffer.from(
        "POST /api/scheduler/tasks HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 2000\r\n\r\n",
      ),
      ...[...Buffer.from(JSON.stringify(valid))].map((b) => Buffer.from([b])),
    ],
    { gapMs: 100, keepOpen: true, limitMs: 8000 },
  );
  for (const status of slowBody.statuses) assert.ok(status >= 400 && status < 500);
  sent++;

  // Pipelined garbage: what follows garbage on a connection is never run.
  const pipelined = await exchange([
    Buffer.concat([
      request("GET", "/healthz"),
      Buffer.from("GARBAGE GARBAGE\r\n\r\n"),
      create(JSON.stringify(valid)),
      request("DELETE", `/api/scheduler/tasks/${taskId}`),
    ]),
  ]);
  assert.deepEqual(pipelined.statuses, [200, 400]);
  sent++;
  const manyBad = await exchange([Buffer.concat(Array.from({ length: 50 }, () => create("{")))]);
  assert.ok(manyBad.statuses.length >= 1 && manyBad.statuses.every((s) => s === 400), `${manyBad.statuses}`);
  sent += 50;
  const binary = await exchange([Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256))]);
  assert.ok(binary.statuses.every((s) => s >= 400 && s < 500));
  sent++;

  assert.ok(sent >= 150, `only ${sent} hostile requests`);
  ctx.diagnostic(`${sent} hostile requests, ${cases.length} kinds sent one per connection`);
  assert.equal((await t.api("GET", "/healthz")).status, 200, "the server is still up");
  assert.equal((await t.api("GET", `/api/scheduler/tasks/${taskId}`)).status, 200);
  assert.equal((await t.api("GET", "/api/scheduler/tasks")).json.data.total, 1);
  assert.equal(fingerprint(), before, "the database file changed");
});
