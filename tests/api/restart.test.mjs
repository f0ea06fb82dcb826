// A restart on the same database keeps every task and execution.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
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
