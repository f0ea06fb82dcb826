// Notifications on three servers sharing one PostgreSQL database, one of them SIGKILLed
// while its receiver holds deliveries: every delivery is delivered, each by one server; the
// ones the killed server had under way are taken over once their lease ran out (60 s) and
// sent again with the same id, and only those can reach the receiver twice.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startReceiver as receiverOn } from "../support/harness.mjs";
import { Node, eventually, postgres, psql, sleep } from "./cluster.mjs";

const work = mkdtempSync(join(tmpdir(), "cronkit-cluster-notify-"));
const pgState = join(work, "postgres.url");
let dbUrl;
let nodes = [];
let r;

before(async () => {
  dbUrl = postgres("start", pgState);
  // /job/N fails and succeeds in turn, per task; /hook holds each delivery 300 ms, then
  // accepts it and counts its id.
  const calls = new Map();
  r = await receiverOn({
    respond(req, res, record) {
      req.on("data", (c) => (record.body += c));
      req.on("end", () => {
        if (record.path.startsWith("/job")) {
          const n = (calls.get(record.path) ?? 0) + 1;
          calls.set(record.path, n);
          res.statusCode = n % 2 === 1 ? 500 : 200;
          return res.end("");
        }
        r.holding += 1;
        setTimeout(() => {
          r.holding -= 1;
          const id = record.headers["x-cronkit-delivery"];
          r.accepted.set(id, (r.accepted.get(id) ?? 0) + 1);
          res.end("");
        }, 300);
      });
    },
  });
  r.holding = 0;
  r.accepted = new Map();
  nodes = ["n1", "n2", "n3"].map((name) => new Node(name, dbUrl, ["--max-concurrency", "50"]));
  await Promise.all(nodes.map((n) => n.start()));
});

after(async () => {
  await Promise.all(nodes.map((n) => n.stop("SIGKILL")));
  r?.close();
  postgres("stop", pgState);
  rmSync(work, { recursive: true, force: true });
});

test("a server killed while delivering: its deliveries are taken over, each id delivered", async () => {
  const channel = (
    await nodes[0].api("POST", "/api/scheduler/channels", {
      name: "ops",
      type: "webhook",
      url: r.url("/hook"),
    })
  ).json.data;
  const tasks = [];
  for (let i = 0; i < 20; i++) {
    const res = await nodes[i % 3].api("POST", "/api/scheduler/tasks", {
      name: `flaky ${i}`,
      cronExpression: "*/2 * * * * *",
      type: "http",
      httpUrl: r.url(`/job/${i}`),
      notifications: [{ channelId: channel.id, on: ["failure", "recovery"] }],
    });
    assert.equal(res.status, 201, res.text);
    tasks.push(res.json.data);
  }
  // Each task fails and recovers in turn: about ten notifications a second.
  await sleep(8000);
  await eventually(() => r.holding > 0, 10000, "deliveries under way");
  const inFlight = r.holding;
  await nodes[1].stop("SIGKILL");
  await sleep(6000);
  for (const t of tasks) {
    const res = await nodes[0].api("POST", `/api/scheduler/tasks/${t.id}/toggle`, { enabled: false });
    assert.equal(res.status, 200, res.text);
  }
  // What the killed server held comes back after its lease (60 s).
  const rows = await eventually(
    () => {
      const lines = psql(dbUrl, "SELECT id, status, attempts FROM notification_deliveries ORDER BY id")
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((l) => l.split("\t"));
      return lines.length > 0 && lines.every(([, status]) => status === "delivered") ? lines : undefined;
    },
    120000,
    "every delivery delivered",
    1000,
  );
  assert.ok(rows.length >= 50, `${rows.length} deliveries`);
  const ids = new Set(rows.map(([id]) => id));
  for (const id of ids) assert.ok(r.accepted.has(id), `delivery ${id} reached the receiver`);
  for (const id of r.accepted.keys()) assert.ok(ids.has(id), `${id} is a delivery of the database`);
  const twice = [...r.accepted.values()].filter((n) => n > 1).length;
  assert.ok(twice <= inFlight, `${twice} delivered twice; ${inFlight} were under way at the kill`);
  assert.ok([...r.accepted.values()].every((n) => n <= 2));
});
