// Notifications when things go wrong: a server killed with a notification still to send,
// a server killed while the receiver holds its request, and 1,000 tasks failing at once
// to a rate-limited channel. Receivers on loopback count what they accepted by delivery id.
import { test } from "node:test";
import assert from "node:assert/strict";
import { eventually, startReceiver, startServer } from "./server.mjs";

const far = "0 0 1 1 *";

// Tasks' calls go to /job (answered `r.job`); notifications to /hook, answered by
// `r.answer(record)` (a status, or a promise of one). `accepted` maps a delivery id to how
// many times it was answered 2xx.
async function receiver() {
  const r = await startReceiver({
    respond(req, res, record) {
      req.on("data", (c) => (record.body += c));
      req.on("end", async () => {
        if (record.path.startsWith("/job")) {
          res.statusCode = r.job;
          return res.end("");
        }
        res.statusCode = await r.answer(record);
        if (res.statusCode < 300) {
          const id = record.headers["x-cronkit-delivery"] ?? JSON.parse(record.body).text;
          r.accepted.set(id, (r.accepted.get(id) ?? 0) + 1);
        }
        res.end("");
      });
    },
  });
  r.job = 500;
  r.answer = () => 200;
  r.accepted = new Map();
  r.hooks = () => r.requests.filter((q) => q.path.startsWith("/hook"));
  return r;
}

async function failingTask(server, r, channelId, name = "backup-db", cronExpression = far) {
  const res = await server.api("POST", "/api/scheduler/tasks", {
    name,
    cronExpression,
    type: "http",
    httpUrl: r.url("/job"),
    notifications: [{ channelId, on: ["failure"] }],
  });
  assert.equal(res.status, 201, res.text);
  return res.json.data;
}

async function webhook(server, r) {
  const res = await server.api("POST", "/api/scheduler/channels", {
    name: "ops",
    type: "webhook",
    url: r.url("/hook"),
  });
  assert.equal(res.status, 201, res.text);
  return res.json.data;
}

async function deliveries(server, query) {
  return (await server.api("GET", `/api/scheduler/deliveries?${query}&pageSize=100`)).json.data.list;
}

test("a server killed with a notification still to send sends it once after its restart", async () => {
  const r = await receiver();
  const server = await startServer({ args: ["--notify-retry-ms", "3000"] });
  try {
    const channel = await webhook(server, r);
    const task = await failingTask(server, r, channel.id);
    r.answer = () => 503; // down: the delivery waits for its next attempt
    await server.api("POST", `/api/scheduler/tasks/${task.id}/trigger`);
    await eventually(() => r.hooks().length === 1, 10000, "the first attempt");
    // Killed once the failed attempt is recorded (the delivery pending, 1 attempt).
    await eventually(
      async () =>
        (await deliveries(server, `taskId=${task.id}&status=pending`)).some((d) => d.attempts === 1),
      10000,
      "the first attempt recorded",
    );
    assert.equal(await server.stop("SIGKILL"), "SIGKILL");
    r.answer = () => 200;
    await server.start();
    await eventually(() => r.accepted.size === 1, 20000, "the delivery after the restart");
    const [d] = await eventually(async () => {
      const list = await deliveries(server, `taskId=${task.id}&status=delivered`);
      return list.length === 1 ? list : undefined;
    });
    assert.equal(d.attempts, 2);
    assert.deepEqual([...r.accepted.entries()], [[d.id, 1]], "accepted once, with its id");
    assert.ok(r.hooks().every((q) => q.headers["x-cronkit-delivery"] === d.id));
  } finally {
    await server.stop();
    r.close();
  }
});

test("a server killed while the receiver holds its request sends it again with the same id", async () => {
  const r = await receiver();
  const server = await startServer();
  try {
    const channel = await webhook(server, r);
    const task = await failingTask(server, r, channel.id);
    let held;
    r.answer = () => new Promise((resolve) => (held = resolve)); // never answered in time
    await server.api("POST", `/api/scheduler/tasks/${task.id}/trigger`);
    await eventually(() => r.hooks().length === 1, 10000, "the request held");
    await server.stop("SIGKILL");
    r.answer = () => 200;
    held(200); // the receiver took the first request after all: the sender never heard
    await server.start();
    await eventually(() => r.hooks().length === 2, 10000, "sent again at once (its lease ended)");
    const [first, second] = r.hooks();
    assert.equal(first.headers["x-cronkit-delivery"], second.headers["x-cronkit-delivery"]);
    const [d] = await eventually(async () => {
      const list = await deliveries(server, `taskId=${task.id}&status=delivered`);
      return list.length === 1 ? list : undefined;
    });
    assert.equal(
      d.id,
      first.headers["x-cronkit-delivery"],
      "one delivery: the receiver de-duplicates on its id",
    );
  } finally {
    await server.stop();
    r.close();
  }
});

test("1,000 tasks failing at once to a Slack channel: digests at most a second apart, none dropped", async () => {
  const r = await receiver();
  const server = await startServer({ args: ["--max-concurrency", "50"] });
  try {
    const slack = (
      await server.api("POST", "/api/scheduler/channels", {
        name: "team",
        type: "slack",
        url: r.url("/hook/slack"),
      })
    ).json.data;
    const n = 1000;
    // Every task fires every 15 s: all of them at once (those created after an instant, at the
    // next); each failure in a row is told once.
    const cron = "*/15 * * * * *";
    const names = [];
    for (let i = 0; i < n; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, k) => {
          names.push(`job-${i + k}`);
          return failingTask(server, r, slack.id, `job-${i + k}`, cron);
        }),
      );
    }
    const all = await eventually(
      async () => {
        const page = (
          await server.api(
            "GET",
            `/api/scheduler/deliveries?channelId=${slack.id}&status=delivered&pageSize=1`,
          )
        ).json.data;
        return page.total === n ? page : undefined;
      },
      120000,
      `${n} deliveries delivered`,
      500,
    );
    assert.equal(all.total, n);
    // Every failure is in a message, once; no more than one message a second.
    const told = r
      .hooks()
      .flatMap((q) => {
        const m = JSON.parse(q.body);
        return /^\[cronkit\] \d+ notifications/.test(m.text)
          ? m.blocks[0].text.text.split("\n").filter((l) => l.startsWith("- "))
          : [`- ${m.text.replace("[cronkit] ", "")}`];
      })
      .map((l) => l.replace(/^- /, "").replace(/ failed$/, ""))
      .sort();
    assert.deepEqual(told, [...names].sort());
    const times = r.hooks().map((q) => q.at);
    const seconds = (times.at(-1) - times[0]) / 1000;
    assert.ok(r.hooks().length <= Math.floor(seconds) + 2, `${r.hooks().length} messages in ${seconds} s`);
    assert.ok(r.hooks().length < n / 10, `${r.hooks().length} messages for ${n} failures`);
  } finally {
    await server.stop();
    r.close();
  }
});

test("a run that a killed server left behind is failed at its restart, and told", async () => {
  const r = await receiver();
  const server = await startServer();
  try {
    const channel = await webhook(server, r);
    const task = await failingTask(server, r, channel.id);
    let release;
    const held = new Promise((resolve) => (release = resolve));
    const job = r.job;
    r.job = undefined;
    // The task's call is never answered while the server lives.
    r.server.removeAllListeners("request");
    r.server.on("request", (req, res) => {
      const record = { method: req.method, path: req.url, headers: req.headers, body: "", at: Date.now() };
      r.requests.push(record);
      req.on("data", (c) => (record.body += c));
      req.on("end", async () => {
        if (record.path.startsWith("/job")) {
          await held;
          res.statusCode = job;
          return res.end("");
        }
        res.statusCode = 200;
        const id = record.headers["x-cronkit-delivery"];
        r.accepted.set(id, (r.accepted.get(id) ?? 0) + 1);
        res.end("");
      });
    });
    const run = await server.api("POST", `/api/scheduler/tasks/${task.id}/trigger`);
    await eventually(() => r.requests.some((q) => q.path.startsWith("/job")), 10000, "the run under way");
    await server.stop("SIGKILL");
    release();
    await server.start();
    const [d] = await eventually(async () => {
      const list = await deliveries(server, `taskId=${task.id}&status=delivered`);
      return list.length === 1 ? list : undefined;
    }, 15000);
    assert.equal(d.event, "failure");
    assert.equal(d.executionId, run.json.data.executionId);
    const doc = JSON.parse(r.hooks()[0].body);
    assert.equal(doc.execution.errorMessage, "interrupted by restart");
  } finally {
    await server.stop();
    r.close();
  }
});
