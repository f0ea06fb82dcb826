// Notification rules on tasks: failures (with tolerance), recoveries, retries of a receiver
// that is down, a 4xx that fails at once, and a digest for a rate-limited channel — each
// delivered from the outbox to a real receiver on loopback.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { eventually, startReceiver, startServer, startSmtpReceiver } from "./server.mjs";

const SECRET = "rules-secret-0123456789";
const far = "0 0 1 1 *"; // runs only when triggered

// A receiver whose answers the test sets: `answers` is consumed first (a status each), then
// `status` (200 unless changed). Tasks' HTTP calls and notifications go to different paths.
async function receiver() {
  const r = await startReceiver({
    respond(req, res, record) {
      req.on("data", (c) => (record.body += c));
      req.on("end", () => {
        if (record.path.startsWith("/job")) {
          res.statusCode = r.job;
          if (r.hold) return r.hold.then(() => res.end(""));
        } else {
          res.statusCode = r.answers.length > 0 ? r.answers.shift() : r.status;
          if (res.statusCode === 503) res.setHeader("Retry-After", "0");
        }
        res.end("");
      });
    },
  });
  r.job = 200; // what the task's own calls get
  r.status = 200;
  r.answers = [];
  r.notices = () => r.requests.filter((q) => q.path.startsWith("/hook"));
  return r;
}

function signed(request) {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(request.headers["x-cronkit-signature"] ?? "");
  return m && createHmac("sha256", SECRET).update(`${m[1]}.${request.body}`).digest("hex") === m[2];
}

async function setup(server, r, rule, channel = {}) {
  const created = await server.api("POST", "/api/scheduler/channels", {
    name: "ops",
    type: "webhook",
    url: r.url("/hook"),
    secret: SECRET,
    ...channel,
  });
  assert.equal(created.status, 201, created.text);
  const task = await server.api("POST", "/api/scheduler/tasks", {
    name: "backup-db",
    cronExpression: far,
    type: "http",
    httpMethod: "POST",
    httpUrl: r.url("/job"),
    notifications: [{ channelId: created.json.data.id, ...rule }],
  });
  assert.equal(task.status, 201, task.text);
  return { channel: created.json.data, task: task.json.data };
}

// Runs the task now and waits for the execution's end.
async function run(server, task) {
  const res = await server.api("POST", `/api/scheduler/tasks/${task.id}/trigger`);
  assert.equal(res.status, 202, res.text);
  const id = res.json.data.executionId;
  return eventually(
    async () => {
      const e = (await server.api("GET", `/api/scheduler/executions/${id}`)).json.data;
      return ["success", "failed", "timed_out"].includes(e.status) ? e : undefined;
    },
    20000,
    `execution ${id} to end`,
  );
}

async function deliveries(server, query) {
  return (await server.api("GET", `/api/scheduler/deliveries?${query}&pageSize=100`)).json.data.list;
}

test("a failure is told at the N-th in a row, once while it lasts, and its recovery after", async () => {
  const r = await receiver();
  const server = await startServer({ args: ["--public-url", "https://cron.example.com/"] });
  try {
    const { channel, task } = await setup(server, r, {
      on: ["failure", "recovery"],
      afterFailures: 2,
    });
    assert.deepEqual(task.notifications, [
      {
        channelId: channel.id,
        on: ["failure", "recovery"],
        afterFailures: 2,
        realertMinutes: null,
        slowSeconds: null,
        missedGraceSeconds: 60,
      },
    ]);
    r.job = 500;
    await run(server, task); // the first failure is tolerated
    const second = await run(server, task);
    await eventually(() => r.notices().length === 1, 10000, "the failure notification");
    const got = r.notices()[0];
    assert.ok(signed(got), "signed with the channel's secret");
    const doc = JSON.parse(got.body);
    assert.equal(doc.kind, "failure");
    assert.equal(doc.deliveryId, got.headers["x-cronkit-delivery"]);
    assert.deepEqual(doc.task, { id: task.id, name: "backup-db" });
    assert.equal(doc.execution.id, second.id);
    assert.equal(doc.execution.status, "failed");
    assert.equal(doc.execution.errorMessage, second.errorMessage);
    assert.equal(doc.execution.scheduledFor, second.scheduledFor);
    assert.equal(doc.execution.finishedAt, second.finishedAt);
    assert.equal(doc.consecutiveFailures, 2);
    assert.equal(doc.link, `https://cron.example.com/admin/scheduler/tasks/${task.id}`);

    await run(server, task); // still failing: not told again
    r.job = 200;
    await run(server, task);
    await eventually(() => r.notices().length === 2, 10000, "the recovery notification");
    const recovery = JSON.parse(r.notices()[1].body);
    assert.equal(recovery.kind, "recovery");
    assert.equal(recovery.execution.status, "success");

    // The store's record: two deliveries, both delivered, newest first.
    const kept = await eventually(async () => {
      const list = await deliveries(server, `taskId=${task.id}`);
      return list.every((d) => d.status === "delivered") ? list : undefined;
    });
    assert.deepEqual(
      kept.map((d) => [d.event, d.status, d.attempts, d.channelId]),
      [
        ["recovery", "delivered", 1, channel.id],
        ["failure", "delivered", 1, channel.id],
      ],
    );
    assert.equal(kept[1].id, doc.deliveryId);
    assert.equal(kept[1].summary, "[cronkit] backup-db failed (2 times in a row)");
    assert.equal(kept[0].summary, "[cronkit] backup-db recovered");
  } finally {
    await server.stop();
    r.close();
  }
});

test("a receiver that is down is tried again with the same delivery id; a 4xx fails at once", async () => {
  const r = await receiver();
  const server = await startServer({ args: ["--notify-retry-ms", "200"] });
  try {
    const { task } = await setup(server, r, { on: ["failure"] });
    r.job = 500;
    r.answers = [503, 502, 500];
    await run(server, task);
    await eventually(() => r.notices().length === 4, 20000, "four attempts");
    const ids = new Set(r.notices().map((q) => q.headers["x-cronkit-delivery"]));
    assert.equal(ids.size, 1, "one delivery id on every attempt");
    const [done] = await eventually(async () => {
      const list = await deliveries(server, `taskId=${task.id}&status=delivered`);
      return list.length === 1 ? list : undefined;
    });
    assert.equal(done.attempts, 4);
    assert.equal(done.lastStatus, 200);
    assert.equal(done.lastError, null);

    // A receiver that refuses the request will refuse it again: failed after one attempt.
    await server.api("PUT", `/api/scheduler/tasks/${task.id}`, { notifications: [] });
    const other = await setup(server, r, { on: ["failure"] }, { name: "refuses", url: r.url("/hook/x") });
    r.answers = [403];
    await run(server, other.task);
    const [failed] = await eventually(async () => {
      const list = await deliveries(server, `taskId=${other.task.id}&status=failed`);
      return list.length === 1 ? list : undefined;
    }, 10000);
    assert.equal(failed.attempts, 1);
    assert.equal(failed.lastStatus, 403);
    assert.match(failed.lastError, /403/);
  } finally {
    await server.stop();
    r.close();
  }
});

test("rules are validated field by field, and a channel in use cannot be deleted", async () => {
  const r = await receiver();
  const server = await startServer();
  try {
    const { channel, task } = await setup(server, r, { on: ["failure"] });
    const bad = await server.api("PUT", `/api/scheduler/tasks/${task.id}`, {
      notifications: [
        { channelId: "no-such-channel", on: ["failure"] },
        { channelId: channel.id, on: ["recovery", "bogus", "slow"], afterFailures: 0, extra: 1 },
        { channelId: channel.id, on: ["failure"] },
        "not a rule",
      ],
    });
    assert.equal(bad.status, 422, bad.text);
    const fields = bad.json.data.map((e) => e.field).sort();
    assert.deepEqual(fields, [
      "notifications[0].channelId",
      "notifications[1].afterFailures",
      "notifications[1].extra",
      "notifications[1].on",
      "notifications[1].on[1]",
      "notifications[1].slowSeconds",
      "notifications[2].channelId",
      "notifications[3]",
    ]);
    const byField = Object.fromEntries(bad.json.data.map((e) => [e.field, e.message]));
    assert.match(byField["notifications[0].channelId"], /no notification channel/);
    assert.match(byField["notifications[1].on"], /recovery.*needs.*failure/);
    assert.match(byField["notifications[2].channelId"], /rule already/);
    // Nothing was written.
    const kept = (await server.api("GET", `/api/scheduler/tasks/${task.id}`)).json.data.task;
    assert.deepEqual(
      kept.notifications.map((n) => n.on),
      [["failure"]],
    );

    const refused = await server.api("DELETE", `/api/scheduler/channels/${channel.id}`);
    assert.equal(refused.status, 409, refused.text);
    assert.match(refused.json.message, /backup-db/);
    const cleared = await server.api("PUT", `/api/scheduler/tasks/${task.id}`, { notifications: null });
    assert.deepEqual(cleared.json.data.notifications, []);
    assert.equal((await server.api("DELETE", `/api/scheduler/channels/${channel.id}`)).status, 200);
  } finally {
    await server.stop();
    r.close();
  }
});

test("failures waiting for a rate-limited channel go out as one digest", async () => {
  const r = await receiver();
  const server = await startServer();
  try {
    const slack = await server.api("POST", "/api/scheduler/channels", {
      name: "team",
      type: "slack",
      url: r.url("/hook/slack"),
    });
    assert.equal(slack.status, 201, slack.text);
    r.job = 500;
    const tasks = [];
    for (let i = 0; i < 20; i++) {
      const t = await server.api("POST", "/api/scheduler/tasks", {
        name: `job-${i}`,
        cronExpression: far,
        type: "http",
        httpUrl: r.url("/job"),
        notifications: [{ channelId: slack.json.data.id, on: ["failure"] }],
      });
      tasks.push(t.json.data);
    }
    await Promise.all(tasks.map((t) => run(server, t)));
    const all = await eventually(
      async () => {
        const list = await deliveries(server, `channelId=${slack.json.data.id}`);
        return list.length === 20 && list.every((d) => d.status === "delivered") ? list : undefined;
      },
      20000,
      "20 deliveries delivered",
    );
    assert.equal(all.length, 20);
    // At most one message a second: far fewer messages than failures, none lost.
    const messages = r.notices().map((q) => JSON.parse(q.body));
    assert.ok(messages.length < 20, `${messages.length} messages for 20 failures`);
    const told = messages.flatMap((m) =>
      /^\[cronkit\] (\d+) notifications/.test(m.text)
        ? m.blocks[0].text.text.split("\n").filter((l) => l.startsWith("- "))
        : [m.text],
    );
    assert.equal(told.length, 20, told.join("\n"));
    for (let i = 0; i < 20; i++)
      assert.ok(
        told.some((l) => l.includes(`job-${i} failed`)),
        `job-${i} told`,
      );
    // One a second: no more messages than seconds between the first and the last, plus one.
    const times = r.notices().map((q) => q.at);
    const seconds = (times.at(-1) - times[0]) / 1000;
    assert.ok(messages.length <= Math.floor(seconds) + 2, `${messages.length} messages in ${seconds} s`);
  } finally {
    await server.stop();
    r.close();
  }
});

test("a task that pauses itself says so", async () => {
  const r = await receiver();
  const server = await startServer();
  try {
    const { task } = await setup(server, r, { on: ["paused"] });
    await server.api("PUT", `/api/scheduler/tasks/${task.id}`, { pauseAfterFailures: 2 });
    r.job = 500;
    await run(server, task);
    await run(server, task);
    await eventually(() => r.notices().length === 1, 10000, "the paused notification");
    const doc = JSON.parse(r.notices()[0].body);
    assert.equal(doc.kind, "paused");
    assert.deepEqual(doc.task, { id: task.id, name: "backup-db" });
    assert.equal(doc.note, "paused by cronkit: 2 failures in a row (pauseAfterFailures)");
    const stored = (await server.api("GET", `/api/scheduler/tasks/${task.id}`)).json.data.task;
    assert.equal(stored.enabled, false);
    const [kept] = await deliveries(server, `taskId=${task.id}`);
    assert.equal(kept.event, "paused");
    assert.equal(kept.summary, "[cronkit] backup-db paused itself");
  } finally {
    await server.stop();
    r.close();
  }
});

test("a run that takes too long is told while it runs", async () => {
  const r = await receiver();
  const server = await startServer();
  try {
    const { task } = await setup(server, r, { on: ["slow"], slowSeconds: 1 });
    let release;
    r.hold = new Promise((resolve) => (release = resolve));
    const res = await server.api("POST", `/api/scheduler/tasks/${task.id}/trigger`);
    assert.equal(res.status, 202, res.text);
    await eventually(() => r.notices().length === 1, 10000, "the slow notification");
    const execution = await server.api("GET", `/api/scheduler/executions/${res.json.data.executionId}`);
    assert.equal(execution.json.data.status, "running", "told while it runs");
    const doc = JSON.parse(r.notices()[0].body);
    assert.equal(doc.kind, "slow");
    assert.equal(doc.slowSeconds, 1);
    assert.equal(doc.execution.id, res.json.data.executionId);
    assert.equal(doc.execution.status, "running");
    assert.ok(doc.at - doc.execution.startedAt >= 1000);
    release();
    r.hold = undefined;
    await run(server, task); // a run within its time is not slow
    const kept = await deliveries(server, `taskId=${task.id}`);
    assert.deepEqual(
      kept.map((d) => d.summary),
      ["[cronkit] backup-db is still running after 1 s"],
    );
  } finally {
    await server.stop();
    r.close();
  }
});

test("instants missed while no server ran are told once per task, with their count", async () => {
  const r = await receiver();
  const server = await startServer();
  try {
    const { task } = await setup(server, r, { on: ["missed"], missedGraceSeconds: 1 });
    await server.api("PUT", `/api/scheduler/tasks/${task.id}`, { cronExpression: "* * * * *" });
    const changed = (await server.api("GET", `/api/scheduler/tasks/${task.id}`)).json.data.task;
    // The server is down for three minutes: it starts again with its clock three minutes on.
    await server.stop();
    server.command.push("--clock-offset-ms", "180000");
    await server.start();
    await eventually(() => r.notices().length === 1, 15000, "the missed notification");
    const doc = JSON.parse(r.notices()[0].body);
    assert.equal(doc.kind, "missed");
    assert.deepEqual(doc.task, { id: task.id, name: "backup-db" });
    // Every minute in the gap, and only those: after the change, before the restart's grace.
    const { count, first, last } = doc.missed;
    assert.ok(count >= 3 && count <= 4, `${count} missed`);
    assert.equal(last - first, (count - 1) * 60000);
    assert.ok(first > changed.updatedAt && first - changed.updatedAt <= 60000, "from the first one");
    assert.equal(first % 60000, 0);
    const kept = await deliveries(server, `taskId=${task.id}`);
    assert.equal(kept.length, 1, "one notification for the task");
    assert.equal(kept[0].summary, `[cronkit] backup-db missed ${count} runs`);
  } finally {
    await server.stop();
    r.close();
  }
});

test("a failure told by mail: a clear subject, what happened in the body", async () => {
  const r = await receiver();
  const smtp = await startSmtpReceiver();
  const server = await startServer({ args: ["--public-url", "https://cron.example.com"] });
  try {
    const mailbox = await server.api("POST", "/api/scheduler/channels", {
      name: "ops mail",
      type: "email",
      url: smtp.url(),
      from: "cronkit@example.com",
      to: ["ops@example.com"],
    });
    assert.equal(mailbox.status, 201, mailbox.text);
    const task = await server.api("POST", "/api/scheduler/tasks", {
      name: "backup-db",
      cronExpression: far,
      type: "http",
      httpUrl: r.url("/job"),
      notifications: [{ channelId: mailbox.json.data.id, on: ["failure"] }],
    });
    r.job = 500;
    const failed = await run(server, task.json.data);
    await eventually(() => smtp.messages.length === 1, 10000, "the mail");
    const mail = smtp.messages[0].data.replace(/\r\n/g, "\n");
    const head = mail.slice(0, mail.indexOf("\n\n"));
    const body = mail.slice(mail.indexOf("\n\n") + 2);
    assert.match(head, /^Subject: \[cronkit\] backup-db failed$/m);
    assert.match(body, /^Task: backup-db$/m);
    assert.match(body, /^Status: failed$/m);
    assert.ok(body.includes(`Error: ${failed.errorMessage}`), body);
    assert.ok(body.includes(`Execution: ${failed.id}`));
    assert.ok(body.includes(`https://cron.example.com/admin/scheduler/tasks/${task.json.data.id}`));
  } finally {
    await server.stop();
    smtp.close();
    r.close();
  }
});
