// A restart on the same database keeps every task and execution.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { client, eventually, startServer } from "./server.mjs";

test("tasks and executions survive a restart", async () => {
  const dir = mkdtempSync(join(tmpdir(), "cronkit-restart-"));
  const db = `sqlite:${join(dir, "kept.db")}`;
  try {
    let server = await startServer({ db });
    let api = client(server.base);
    const ids = [];
    for (let i = 0; i < 5; ++i) {
      const t = (
        await api("POST", "/api/scheduler/tasks", {
          name: `kept ${i}`,
          cronExpression: "0 0 1 1 *",
          type: "function",
          functionName: "cleanup-logs",
          enabled: i % 2 === 0,
        })
      ).json.data;
      ids.push(t.id);
    }
    const runs = [];
    for (const id of ids.slice(0, 3)) {
      runs.push((await api("POST", `/api/scheduler/tasks/${id}/trigger`)).json.data.executionId);
    }
    await eventually(async () => {
      const all = await Promise.all(runs.map((r) => api("GET", `/api/scheduler/executions/${r}`)));
      return all.every((r) => r.json.data.status === "success");
    });
    const tasksBefore = (await api("GET", "/api/scheduler/tasks?pageSize=500")).json.data.list;
    const executionsBefore = (await api("GET", "/api/scheduler/executions?pageSize=500")).json.data.list;
    await server.stop();

    server = await startServer({ db });
    api = client(server.base);
    const tasksAfter = (await api("GET", "/api/scheduler/tasks?pageSize=500")).json.data.list;
    const executionsAfter = (await api("GET", "/api/scheduler/executions?pageSize=500")).json.data.list;
    const strip = (list) => list.map(({ nextRun, ...rest }) => rest);
    assert.deepEqual(strip(tasksAfter), strip(tasksBefore));
    assert.deepEqual(executionsAfter, executionsBefore);
    assert.equal((await api("GET", "/api/scheduler/stats")).json.data.scheduledJobs, 3);
    await server.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// The server takes SIGTERM and SIGINT in its main thread (sigwait) only. A thread that does
// not block them would let the default action end the process when a signal arrives before
// the main thread waits for it: a stop right after "listening" would not be a clean one.
test("every thread of the server blocks SIGTERM and SIGINT, so a stop is always clean", async () => {
  const server = await startServer();
  try {
    const wanted = (1n << (15n - 1n)) | (1n << (2n - 1n));
    // The main thread is left out: while it waits in sigwait, the kernel shows the signals
    // it waits for as unblocked.
    const threads = readdirSync(`/proc/${server.pid}/task`).filter((t) => t !== String(server.pid));
    assert.ok(threads.length > 0);
    for (const tid of threads) {
      const status = readFileSync(`/proc/${server.pid}/task/${tid}/status`, "utf8");
      const name = /^Name:\s*(.*)$/m.exec(status)[1];
      const blocked = BigInt("0x" + /^SigBlk:\s*([0-9a-f]+)$/m.exec(status)[1]);
      assert.equal(blocked & wanted, wanted, `thread ${tid} (${name}) takes SIGTERM or SIGINT`);
    }
  } finally {
    await server.stop();
  }
});

test("after an outage, catch-up runs the latest missed instant or every one, as each task says", async () => {
  const dir = mkdtempSync(join(tmpdir(), "cronkit-outage-"));
  const db = `sqlite:${join(dir, "outage.db")}`;
  try {
    let server = await startServer({ db });
    let api = client(server.base);
    const make = async (name, extra) =>
      (
        await api("POST", "/api/scheduler/tasks", {
          name,
          cronExpression: "*/10 * * * *",
          type: "function",
          functionName: "cleanup-logs",
          ...extra,
        })
      ).json.data;
    const none = await make("none", {});
    const latest = await make("latest", { catchUpPolicy: "latest" });
    const all = await make("all", { catchUpPolicy: "all", overlapPolicy: "allow" });
    await server.stop();

    // Three hours pass with no server: 18 instants of every ten minutes.
    server = await startServer({ db, args: ["--clock-offset-ms", String(3 * 3600000)] });
    api = client(server.base);
    // (A scheduled firing may come too if the clock passes a tenth minute meanwhile.)
    const runs = async (task) =>
      (await api("GET", `/api/scheduler/executions?taskId=${task.id}&pageSize=100`)).json.data.list.filter(
        (e) => e.trigger === "catch-up",
      );
    await eventually(
      async () => (await runs(all)).filter((e) => e.status === "success").length === 18,
      20000,
      "every missed instant ran",
    );
    const caught = (await runs(all)).map((e) => e.scheduledFor).sort((a, b) => a - b);
    assert.equal(new Set(caught).size, 18);
    for (let i = 1; i < caught.length; ++i) assert.equal(caught[i] - caught[i - 1], 600000);
    await eventually(async () => (await runs(latest)).length === 1);
    const once = (await runs(latest))[0];
    assert.equal(once.scheduledFor, caught[caught.length - 1], "the latest missed instant");
    assert.deepEqual(await runs(none), []);
    await server.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
