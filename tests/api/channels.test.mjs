// Notification channels: stored, validated, secrets write-only, and a test notification
// delivered to a real receiver on loopback that verifies the signature.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHmac, timingSafeEqual } from "node:crypto";
import { defaultBinary } from "../support/harness.mjs";
import { eventually, startReceiver, startServer, startSmtpReceiver } from "./server.mjs";

const SECRET = "s3cret-0123456789-abcdef";

// Checks X-Cronkit-Signature as a receiver would: "t=<unix s>,v1=<hex HMAC-SHA256>" of
// "<t>.<body>", within five minutes of now.
function verified(request, secret) {
  const header = request.headers["x-cronkit-signature"];
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? "");
  if (!m) return false;
  if (Math.abs(Date.now() / 1000 - Number(m[1])) > 300) return false;
  const expected = createHmac("sha256", secret).update(`${m[1]}.${request.body}`).digest();
  return timingSafeEqual(expected, Buffer.from(m[2], "hex"));
}

// A receiver that answers each request with the status named by its path ("/503").
async function receiver() {
  return startReceiver({
    respond(req, res, record) {
      req.on("data", (c) => (record.body += c));
      req.on("end", () => {
        res.statusCode = Number(record.path.slice(1)) || 200;
        res.end("");
      });
    },
  });
}

test("a webhook channel: created with write-only secrets, tested with a signed delivery", async () => {
  const r = await receiver();
  const server = await startServer();
  try {
    const created = await server.api("POST", "/api/scheduler/channels", {
      name: "ops hook",
      type: "webhook",
      url: r.url("/200"),
      headers: { Authorization: "Bearer receiver-token", "X-Team": "ops" },
      secret: SECRET,
    });
    assert.equal(created.status, 201, created.text);
    const channel = created.json.data;
    assert.deepEqual(Object.keys(channel).sort(), [
      "createdAt",
      "from",
      "headerNames",
      "id",
      "name",
      "passwordSet",
      "secretSet",
      "startTls",
      "to",
      "type",
      "updatedAt",
      "url",
      "username",
    ]);
    assert.equal(channel.url, r.url("/200"));
    assert.deepEqual(channel.headerNames, ["Authorization", "X-Team"]);
    assert.equal(channel.secretSet, true);
    for (const answer of [
      created,
      await server.api("GET", `/api/scheduler/channels/${channel.id}`),
      await server.api("GET", "/api/scheduler/channels"),
    ]) {
      assert.equal(answer.status, 200 + (answer === created ? 1 : 0));
      assert.ok(!answer.text.includes(SECRET), "the secret is never answered");
      assert.ok(!answer.text.includes("receiver-token"), "nor a header's value");
    }

    const tested = await server.api("POST", `/api/scheduler/channels/${channel.id}/test`);
    assert.equal(tested.status, 200, tested.text);
    assert.equal(tested.json.data.delivered, true);
    assert.equal(tested.json.data.status, 200);
    assert.equal(tested.json.data.error, null);
    assert.equal(r.requests.length, 1);
    const got = r.requests[0];
    assert.equal(got.method, "POST");
    assert.equal(got.headers["content-type"], "application/json");
    assert.equal(got.headers.authorization, "Bearer receiver-token");
    assert.equal(got.headers["x-team"], "ops");
    assert.equal(got.headers["x-cronkit-delivery"], tested.json.data.deliveryId);
    assert.ok(verified(got, SECRET), `signature ${got.headers["x-cronkit-signature"]} verifies`);
    assert.ok(!verified(got, "another secret of enough bytes"), "and only with its secret");
    const document = JSON.parse(got.body);
    assert.equal(document.kind, "test");
    assert.equal(document.channelId, channel.id);
    assert.equal(document.deliveryId, tested.json.data.deliveryId);

    // An update without the secret keeps it; null removes it (and the signature).
    const renamed = await server.api("PUT", `/api/scheduler/channels/${channel.id}`, {
      name: "ops webhook",
    });
    assert.equal(renamed.status, 200, renamed.text);
    assert.equal(renamed.json.data.secretSet, true);
    assert.deepEqual(renamed.json.data.headerNames, ["Authorization", "X-Team"]);
    await server.api("POST", `/api/scheduler/channels/${channel.id}/test`);
    assert.ok(verified(r.requests[1], SECRET));
    const cleared = await server.api("PUT", `/api/scheduler/channels/${channel.id}`, {
      secret: null,
      headers: null,
    });
    assert.equal(cleared.json.data.secretSet, false);
    assert.deepEqual(cleared.json.data.headerNames, []);
    await server.api("POST", `/api/scheduler/channels/${channel.id}/test`);
    assert.equal(r.requests[2].headers["x-cronkit-signature"], undefined);
    assert.equal(r.requests[2].headers.authorization, undefined);
    assert.notEqual(r.requests[2].headers["x-cronkit-delivery"], r.requests[1].headers["x-cronkit-delivery"]);

    // Kept across a restart.
    await server.stop();
    await server.start();
    const listed = await server.api("GET", "/api/scheduler/channels");
    assert.deepEqual(
      listed.json.data.map((c) => [c.id, c.name, c.secretSet]),
      [[channel.id, "ops webhook", false]],
    );
    assert.ok(!server.log().includes(SECRET));

    const deleted = await server.api("DELETE", `/api/scheduler/channels/${channel.id}`);
    assert.equal(deleted.status, 200);
    for (const [method, path] of [
      ["GET", `/api/scheduler/channels/${channel.id}`],
      ["PUT", `/api/scheduler/channels/${channel.id}`],
      ["DELETE", `/api/scheduler/channels/${channel.id}`],
      ["POST", `/api/scheduler/channels/${channel.id}/test`],
    ]) {
      const gone = await server.api(method, path, method === "PUT" ? { name: "x" } : undefined);
      assert.equal(gone.status, 404, `${method} ${path}`);
      assert.match(gone.json.message, /no channel with id/);
    }
  } finally {
    await server.stop();
    r.close();
  }
});

test("a Slack channel gets Slack's format; a failing receiver is reported, not hidden", async () => {
  const r = await receiver();
  const server = await startServer();
  try {
    const slack = await server.api("POST", "/api/scheduler/channels", {
      name: "alerts",
      type: "slack",
      url: r.url("/services/T000/B000/XXXXSECRET"),
    });
    assert.equal(slack.status, 201, slack.text);
    assert.equal(slack.json.data.url, `http://127.0.0.1:${r.port}/\u2026`, "the path is the credential");
    assert.ok(!slack.text.includes("XXXXSECRET"));
    const tested = await server.api("POST", `/api/scheduler/channels/${slack.json.data.id}/test`);
    assert.equal(tested.json.data.delivered, true, tested.text);
    const body = JSON.parse(r.requests[0].body);
    assert.equal(body.text, "[cronkit] test notification to alerts");
    assert.equal(body.blocks[0].type, "section");
    assert.equal(body.blocks[0].text.type, "mrkdwn");
    assert.match(body.blocks[0].text.text, /^\*\[cronkit\] test notification to alerts\*\n/);
    assert.equal(r.requests[0].headers["x-cronkit-signature"], undefined);

    const hooks = [];
    for (const status of [500, 404]) {
      const hook = await server.api("POST", "/api/scheduler/channels", {
        name: `answers ${status}`,
        type: "webhook",
        url: r.url(`/${status}`),
      });
      const failed = await server.api("POST", `/api/scheduler/channels/${hook.json.data.id}/test`);
      assert.equal(failed.status, 200, "the test ran: its outcome is the answer");
      assert.equal(failed.json.data.delivered, false);
      assert.equal(failed.json.data.status, status);
      assert.equal(failed.json.data.error, `the receiver answered ${status}`);
      hooks.push(hook.json.data.id);
    }
    // Every test delivery is kept, newest first, with how it went.
    const all = await server.api("GET", "/api/scheduler/deliveries");
    assert.equal(all.status, 200, all.text);
    assert.equal(all.json.data.total, 3);
    assert.deepEqual(
      all.json.data.list.map((d) => [d.event, d.status, d.attempts, d.lastStatus, d.lastError]),
      [
        ["test", "failed", 1, 404, "the receiver answered 404"],
        ["test", "failed", 1, 500, "the receiver answered 500"],
        ["test", "delivered", 1, 200, null],
      ],
    );
    const first = all.json.data.list[2];
    assert.equal(first.id, tested.json.data.deliveryId);
    assert.equal(first.channelId, slack.json.data.id);
    assert.equal(first.summary, "[cronkit] test notification to alerts");
    assert.equal(first.taskId, null);
    assert.ok(first.finishedAt >= first.createdAt);
    const failedOnes = await server.api("GET", "/api/scheduler/deliveries?status=failed&pageSize=1");
    assert.equal(failedOnes.json.data.total, 2);
    assert.equal(failedOnes.json.data.list.length, 1);
    const byChannel = await server.api("GET", `/api/scheduler/deliveries?channelId=${hooks[0]}`);
    assert.deepEqual(
      byChannel.json.data.list.map((d) => d.lastStatus),
      [500],
    );
    for (const bad of ["status=sent", "pageSize=0", "page=x", "channel=1"]) {
      const res = await server.api("GET", `/api/scheduler/deliveries?${bad}`);
      assert.equal(res.status, 400, bad);
    }
    // Nothing listens on the receiver's port once it is closed.
    r.close();
    const unreachable = await server.api("POST", "/api/scheduler/channels", {
      name: "nobody home",
      type: "webhook",
      url: r.url("/200"),
    });
    const refused = await server.api("POST", `/api/scheduler/channels/${unreachable.json.data.id}/test`);
    assert.equal(refused.json.data.delivered, false);
    assert.equal(refused.json.data.status, null);
    assert.match(refused.json.data.error, /connect/i);

    // Counted by channel type and outcome, with how long each took.
    const metrics = (await server.api("GET", "/metrics")).text;
    const count = (labels) =>
      Number(
        new RegExp(`^cronkit_notification_deliveries_total\\{${labels}\\} (\\d+)$`, "m").exec(metrics)?.[1],
      );
    assert.equal(count('type="slack",outcome="delivered"'), 1);
    assert.equal(count('type="webhook",outcome="failed"'), 3);
    assert.equal(count('type="webhook",outcome="delivered"'), 0);
    assert.equal(count('type="email",outcome="failed"'), 0);
    assert.match(metrics, /^cronkit_notification_delivery_seconds_count 4$/m);
  } finally {
    await server.stop();
    r.close();
  }
});

const PASSWORD = "mail-pass-0123456789";

test("an email channel: a plain-text mail through a real SMTP server, with a login", async () => {
  const smtp = await startSmtpReceiver({ password: PASSWORD });
  const server = await startServer();
  try {
    const created = await server.api("POST", "/api/scheduler/channels", {
      name: "Équipe ops",
      type: "email",
      url: smtp.url(),
      from: "cronkit@example.com",
      to: ["ops@example.com", "oncall@example.org"],
      username: "cronkit",
      password: PASSWORD,
    });
    assert.equal(created.status, 201, created.text);
    const channel = created.json.data;
    assert.equal(channel.from, "cronkit@example.com");
    assert.deepEqual(channel.to, ["ops@example.com", "oncall@example.org"]);
    assert.equal(channel.username, "cronkit");
    assert.equal(channel.passwordSet, true);
    assert.equal(channel.startTls, false);
    assert.ok(!created.text.includes(PASSWORD));

    const tested = await server.api("POST", `/api/scheduler/channels/${channel.id}/test`);
    assert.equal(tested.json.data.delivered, true, tested.text);
    assert.equal(tested.json.data.status, 250);
    await eventually(() => smtp.messages.length === 1);
    const mail = smtp.messages[0];
    assert.equal(mail.from, "cronkit@example.com");
    assert.deepEqual(mail.to, ["ops@example.com", "oncall@example.org"]);
    assert.equal(mail.authenticated, true);
    const [head, body] = mail.data.split(/\r?\n\r?\n/, 2);
    const headers = Object.fromEntries(
      head
        .replace(/\r?\n[ \t]+/g, " ")
        .split(/\r?\n/)
        .map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]),
    );
    assert.equal(headers.from, "cronkit@example.com");
    assert.equal(headers.to, "ops@example.com, oncall@example.org");
    assert.equal(headers["content-type"], "text/plain; charset=utf-8");
    assert.equal(headers["x-cronkit-delivery"], tested.json.data.deliveryId);
    assert.match(headers.date, /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$/);
    // The subject holds a non-ASCII name: RFC 2047 encoded-words, decoded back here.
    const subject = headers.subject
      .split(" ")
      .map((w) => Buffer.from(/^=\?UTF-8\?B\?(.*)\?=$/.exec(w)[1], "base64"))
      .reduce((a, b) => Buffer.concat([a, b]))
      .toString("utf8");
    assert.equal(subject, "[cronkit] test notification to Équipe ops");
    assert.match(body, /^\[cronkit\] test notification to Équipe ops/);

    // A wrong password fails the delivery, saying so; keeping the password on update.
    const wrong = await server.api("PUT", `/api/scheduler/channels/${channel.id}`, { password: "not it" });
    assert.equal(wrong.json.data.passwordSet, true);
    const refused = await server.api("POST", `/api/scheduler/channels/${channel.id}/test`);
    assert.equal(refused.json.data.delivered, false);
    assert.equal(refused.json.data.status, 535);
    assert.match(refused.json.data.error, /login denied|authentication/i);
    // STARTTLS required but not offered: nothing goes out in the clear.
    await server.api("PUT", `/api/scheduler/channels/${channel.id}`, { password: PASSWORD, startTls: true });
    const plain = await server.api("POST", `/api/scheduler/channels/${channel.id}/test`);
    assert.equal(plain.json.data.delivered, false);
    assert.match(plain.json.data.error, /STARTTLS|SSL|TLS/i);
    assert.equal(smtp.messages.length, 1, "neither reached a mailbox");
    assert.ok(!server.log().includes(PASSWORD));

    const bad = await server.api("POST", "/api/scheduler/channels", {
      name: "bad mail",
      type: "email",
      url: "http://127.0.0.1/",
      from: "not an address",
      to: ["a@b", "x\r\nBcc: victim@example.com"],
      password: "p",
      startTls: "yes",
    });
    assert.equal(bad.status, 422);
    assert.deepEqual(bad.json.data.map((e) => e.field).sort(), ["from", "password", "startTls", "to", "url"]);
    const misplaced = await server.api("POST", "/api/scheduler/channels", {
      name: "hook",
      type: "webhook",
      url: "http://127.0.0.1:9/",
      to: ["a@b"],
      startTls: true,
    });
    assert.deepEqual(misplaced.json.data.map((e) => e.field).sort(), ["startTls", "to"]);
    const tls = await server.api("POST", "/api/scheduler/channels", {
      name: "implicit tls",
      type: "email",
      url: "smtps://127.0.0.1:9",
      from: "a@b",
      to: ["c@d"],
      startTls: true,
    });
    assert.deepEqual(
      tls.json.data.map((e) => e.field),
      ["startTls"],
    );
  } finally {
    await server.stop();
    smtp.close();
  }
});

test("with --public-url, a test notification links to the admin UI's channels", async () => {
  const r = await receiver();
  const server = await startServer({ args: ["--public-url", "https://cronkit.example.com/ops/"] });
  try {
    const link = "https://cronkit.example.com/ops/admin/scheduler/channels";
    const hook = await server.api("POST", "/api/scheduler/channels", {
      name: "hook",
      type: "webhook",
      url: r.url("/200"),
    });
    const slack = await server.api("POST", "/api/scheduler/channels", {
      name: "slack",
      type: "slack",
      url: r.url("/200"),
    });
    await server.api("POST", `/api/scheduler/channels/${hook.json.data.id}/test`);
    await server.api("POST", `/api/scheduler/channels/${slack.json.data.id}/test`);
    assert.equal(JSON.parse(r.requests[0].body).link, link);
    assert.ok(JSON.parse(r.requests[1].body).blocks[0].text.text.endsWith(`\n${link}`));
  } finally {
    await server.stop();
    r.close();
  }
  for (const bad of ["cronkit.example.com", "ftp://x", "https://x/?q=1"]) {
    const refused = spawnSync(defaultBinary(), ["serve", "--port", "0", "--public-url", bad], {
      encoding: "utf8",
      timeout: 10000,
    });
    assert.equal(refused.status, 2, bad);
    assert.match(refused.stderr, /--public-url.*must be an http or https URL/s, bad);
  }
});

test("a bad channel is refused with every field named, and nothing is stored", async () => {
  const server = await startServer();
  try {
    const cases = [
      [{}, ["type", "name", "url"]],
      [
        { name: " ", type: "fax", url: "ftp://x", secret: "short", extra: 1 },
        ["extra", "type", "name", "url", "secret"],
      ],
      [{ name: "a", type: "webhook", url: "http://127.0.0.1:9/", secret: "short" }, ["secret"]],
      [{ name: "a", type: "webhook", url: "http://127.0.0.1:9/", secret: 12 }, ["secret"]],
      [{ name: "a", type: "webhook", url: "no scheme" }, ["url"]],
      [{ name: "a", type: "webhook", url: "http://127.0.0.1:9/", headers: "X: y" }, ["headers"]],
      [{ name: "a", type: "webhook", url: "http://127.0.0.1:9/", headers: { "Bad Name": "v" } }, ["headers"]],
      [{ name: "a", type: "webhook", url: "http://127.0.0.1:9/", headers: { X: "a\r\nB: c" } }, ["headers"]],
      [{ name: "a", type: "webhook", url: "http://127.0.0.1:9/", headers: { X: 1 } }, ["headers"]],
      [
        {
          name: "a",
          type: "webhook",
          url: "http://127.0.0.1:9/",
          headers: { "x-cronkit-signature": "forged" },
        },
        ["headers"],
      ],
      [
        {
          name: "a",
          type: "slack",
          url: "http://127.0.0.1:9/",
          headers: { X: "y" },
          secret: "0123456789abcdef",
        },
        ["headers", "secret"],
      ],
      [{ name: "a\u0007", type: "webhook", url: "http://127.0.0.1:9/" }, ["name"]],
      [{ name: "x".repeat(201), type: "webhook", url: "http://127.0.0.1:9/" }, ["name"]],
      [{ name: "a", type: "webhook", url: `http://127.0.0.1:9/${"p".repeat(8200)}` }, ["url"]],
    ];
    for (const [body, fields] of cases) {
      const res = await server.api("POST", "/api/scheduler/channels", body);
      assert.equal(res.status, 422, `${JSON.stringify(body).slice(0, 120)}: ${res.text}`);
      assert.deepEqual(
        res.json.data.map((e) => e.field).sort(),
        [...fields].sort(),
        `${JSON.stringify(body).slice(0, 120)}: ${res.text}`,
      );
      for (const e of res.json.data) assert.ok(e.message.length > 0);
    }
    assert.equal((await server.api("POST", "/api/scheduler/channels", "[1]")).status, 422);
    assert.equal((await server.api("POST", "/api/scheduler/channels", "{")).status, 400);
    const ok = await server.api("POST", "/api/scheduler/channels", {
      name: "kept",
      type: "webhook",
      url: "http://127.0.0.1:9/",
    });
    const id = ok.json.data.id;
    const retyped = await server.api("PUT", `/api/scheduler/channels/${id}`, { type: "slack" });
    assert.equal(retyped.status, 422);
    assert.equal(retyped.json.data[0].field, "type");
    assert.match(retyped.json.data[0].message, /cannot be changed/);
    const emptied = await server.api("PUT", `/api/scheduler/channels/${id}`, { url: "" });
    assert.equal(emptied.status, 422);
    const listed = await server.api("GET", "/api/scheduler/channels");
    assert.deepEqual(
      listed.json.data.map((c) => [c.name, c.url]),
      [["kept", "http://127.0.0.1:9/"]],
      "only the valid channel was stored, unchanged by the refused updates",
    );
  } finally {
    await server.stop();
  }
});
