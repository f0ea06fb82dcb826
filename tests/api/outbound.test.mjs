// Where HTTP tasks and notifications may go. The rules are checked on the address each
// connection is made to — after name resolution and on every redirect — and a URL whose
// host is a literal denied address is refused when the task or channel is made. All of it
// stays on loopback: 127.0.0.2 is a second loopback address, "localhost" a name that
// resolves to loopback, and a refused connection to 169.254.169.254 is never opened.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { eventually, startReceiver, startServer } from "./server.mjs";

const servers = {};
let open; // answers 200 on 127.0.0.1
let second; // answers 200 on 127.0.0.2
let redirects; // on 127.0.0.1: 302 to where ?to= says

before(async () => {
  open = await startReceiver();
  second = await startReceiver({ host: "127.0.0.2" });
  redirects = await startReceiver({
    respond: (req, res) => {
      const to = new URL(req.url, "http://x").searchParams.get("to");
      res.writeHead(302, { location: to }).end();
    },
  });
  [servers.plain, servers.deny, servers.allow] = await Promise.all([
    startServer(),
    startServer({ args: ["--http-deny", "127.0.0.2"] }),
    startServer({ args: ["--http-allow", "127.0.0.2/32"] }),
  ]);
});
after(async () => {
  await Promise.all(Object.values(servers).map((s) => s.stop()));
  for (const r of [open, second, redirects]) r.close();
});

const httpTask = (name, url) => ({ name, type: "http", cronExpression: "0 0 1 1 *", httpUrl: url });

// Runs an HTTP task to `url` on `server` and returns its finished execution.
async function runTo(server, url) {
  const created = await server.api("POST", "/api/scheduler/tasks", httpTask(`to ${url}`, url));
  assert.equal(created.status, 201, created.text);
  const run = await server.api("POST", `/api/scheduler/tasks/${created.json.data.id}/trigger`);
  assert.equal(run.status, 202);
  return eventually(async () => {
    const e = (await server.api("GET", `/api/scheduler/executions/${run.json.data.executionId}`)).json.data;
    return ["success", "failed", "timed_out"].includes(e.status) && e;
  });
}

test("a literal link-local or metadata address is refused when the task or channel is made", async () => {
  const api = servers.plain.api;
  for (const url of [
    "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/",
    "http://100.100.100.200/",
    "http://metadata.google.internal/computeMetadata/v1/",
  ]) {
    const res = await api("POST", "/api/scheduler/tasks", httpTask("metadata", url));
    assert.equal(res.status, 422, url);
    assert.equal(res.json.data[0].field, "httpUrl");
    assert.match(res.json.data[0].message, /^is refused: .* metadata/);
  }
  const channel = await api("POST", "/api/scheduler/channels", {
    name: "metadata",
    type: "webhook",
    url: "http://169.254.169.254/hook",
  });
  assert.equal(channel.status, 422);
  assert.equal(channel.json.data[0].field, "url");
  const tasks = (await api("GET", "/api/scheduler/tasks")).json.data.list;
  assert.equal(tasks.length, 0, "nothing was stored");
});

test("a redirect to a metadata address fails the execution without connecting", async () => {
  const e = await runTo(
    servers.plain,
    redirects.url(`/r?to=${encodeURIComponent("http://169.254.169.254/latest/")}`),
  );
  assert.equal(e.status, "failed");
  assert.match(
    e.errorMessage,
    /^refused: 169\.254\.169\.254 is denied: 169\.254\.0\.0\/16 holds cloud metadata/,
  );
  assert.equal(e.attempts, 1);
  const fine = await runTo(servers.plain, open.url("/fine"));
  assert.equal(fine.status, "success", "loopback is allowed unless denied");
});

test("--http-deny: refused at create for the literal address, and after a redirect to it", async () => {
  const api = servers.deny.api;
  const literal = await api("POST", "/api/scheduler/tasks", httpTask("second", second.url("/x")));
  assert.equal(literal.status, 422);
  assert.equal(
    literal.json.data[0].message,
    "is refused: 127.0.0.2 is denied by the outbound rules (127.0.0.2)",
  );
  const before = second.requests.length;
  const e = await runTo(
    servers.deny,
    redirects.url(`/r?to=${encodeURIComponent(second.url("/after-redirect"))}`),
  );
  assert.equal(e.status, "failed");
  assert.equal(e.errorMessage, "refused: 127.0.0.2 is denied by the outbound rules (127.0.0.2)");
  assert.equal(second.requests.length, before, "the denied address got no request");
  const channel = await api("POST", "/api/scheduler/channels", {
    name: "c",
    type: "webhook",
    url: second.url("/hook"),
  });
  assert.equal(channel.status, 422);
});

test("--http-allow: only what it names, checked on the resolved address of a name", async () => {
  const api = servers.allow.api;
  const refused = await api("POST", "/api/scheduler/tasks", httpTask("first", open.url("/x")));
  assert.equal(refused.status, 422);
  assert.equal(
    refused.json.data[0].message,
    "is refused: 127.0.0.1 is not in the allowed destinations (--http-allow)",
  );

  const allowed = await runTo(servers.allow, second.url("/allowed"));
  assert.equal(allowed.status, "success", allowed.errorMessage);

  // A name is taken when the task is made; its address is what counts.
  const before = open.requests.length;
  const byName = await runTo(servers.allow, `http://localhost:${open.port}/by-name`);
  assert.equal(byName.status, "failed");
  assert.match(
    byName.errorMessage,
    /^refused: localhost \((127\.0\.0\.1|::1)\) is not in the allowed destinations/,
  );
  assert.equal(open.requests.length, before);

  // Notifications too: a test notification to a name that resolves to a refused address.
  const channel = await api("POST", "/api/scheduler/channels", {
    name: "by name",
    type: "webhook",
    url: `http://localhost:${open.port}/hook`,
  });
  assert.equal(channel.status, 201, channel.text);
  const sent = await api("POST", `/api/scheduler/channels/${channel.json.data.id}/test`);
  assert.equal(sent.status, 200);
  assert.equal(sent.json.data.delivered, false);
  assert.match(
    sent.json.data.error,
    /^refused: localhost \((127\.0\.0\.1|::1)\) is not in the allowed destinations/,
  );
  assert.equal(open.requests.length, before);
});

test("a rule that is not an address, a range or a name stops the server at start", async () => {
  await assert.rejects(
    startServer({ args: ["--http-deny", "10.0.0.0/33"] }),
    /--http-deny: must be an address \(169\.254\.169\.254\), a range/,
  );
});
