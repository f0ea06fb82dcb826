// Run limits and failure limits against the real binary: a task that pauses itself after
// maxRuns firings or after pauseAfterFailures failures in a row, with its note, and the
// rules for resuming it.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { eventually, serverForFile, startReceiver } from "./server.mjs";

const t = serverForFile();
let failing;
before(async () => {
  failing = await startReceiver({ respond: (req, res) => res.writeHead(500).end("broken") });
});
after(() => failing?.close());

const everySecond = {
  name: "limited",
  cronExpression: "* * * * * *",
  type: "function",
  functionName: "cleanup-logs",
};

async function executions(taskId) {
  return (await t.api("GET", `/api/scheduler/executions?taskId=${taskId}&pageSize=100`)).json.data;
}

describe("limits", () => {
  test("maxRuns and pauseAfterFailures are checked, read back and cleared with null", async () => {
    const cases = [
      [{ maxRuns: 0 }, "maxRuns", /between 1 and 1000000/],
      [{ maxRuns: 1000001 }, "maxRuns", /between 1 and 1000000/],
      [{ maxRuns: "3" }, "maxRuns", /must be a number/],
      [{ pauseAfterFailures: 0 }, "pauseAfterFailures", /between 1 and 1000/],
      [{ pauseAfterFailures: 1001 }, "pauseAfterFailures", /between 1 and 1000/],
      [{ pauseAfterFailures: 2.5 }, "pauseAfterFailures", /whole number/],
      [{ runCount: 5 }, "runCount", /not a field/],
    ];
    for (const [extra, field, message] of cases) {
      const res = await t.api("POST", "/api/scheduler/tasks", { ...everySecond, enabled: false, ...extra });
      assert.equal(res.status, 422, JSON.stringify(extra));
      assert.deepEqual(
        res.json.data.map((e) => e.field),
        [field],
      );
      assert.match(res.json.data[0].message, message);
    }
    const plain = (await t.api("POST", "/api/scheduler/tasks", { ...everySecond, enabled: false })).json.data;
    assert.equal(plain.maxRuns, null);
    assert.equal(plain.runCount, 0);
    assert.equal(plain.pauseAfterFailures, null);
    const set = await t.api("PUT", `/api/scheduler/tasks/${plain.id}`, { maxRuns: 7, pauseAfterFailures: 3 });
    assert.equal(set.status, 200, set.text);
    assert.equal(set.json.data.maxRuns, 7);
    assert.equal(set.json.data.pauseAfterFailures, 3);
    const cleared = await t.api("PUT", `/api/scheduler/tasks/${plain.id}`, {
      maxRuns: null,
      pauseAfterFailures: null,
    });
    assert.equal(cleared.json.data.maxRuns, null);
    assert.equal(cleared.json.data.pauseAfterFailures, null);
    await t.api("DELETE", `/api/scheduler/tasks/${plain.id}`);
  });

  test("catchUpPolicy and the seed's catchUp agree; the window is bounded", async () => {
    const base = { ...everySecond, enabled: false };
    const none = (await t.api("POST", "/api/scheduler/tasks", base)).json.data;
    assert.equal(none.catchUp, false);
    assert.equal(none.catchUpPolicy, "none");
    assert.equal(none.catchUpWindowSeconds, 86400);
    const seed = (await t.api("POST", "/api/scheduler/tasks", { ...base, catchUp: true })).json.data;
    assert.equal(seed.catchUpPolicy, "latest", "catchUp: true is latest");
    const all = (
      await t.api("POST", "/api/scheduler/tasks", {
        ...base,
        catchUpPolicy: "all",
        catchUpWindowSeconds: 3600,
      })
    ).json.data;
    assert.equal(all.catchUp, true);
    assert.equal(all.catchUpWindowSeconds, 3600);
    // catchUp: true keeps `all`; false turns it off.
    const kept = await t.api("PUT", `/api/scheduler/tasks/${all.id}`, { catchUp: true });
    assert.equal(kept.json.data.catchUpPolicy, "all");
    const off = await t.api("PUT", `/api/scheduler/tasks/${all.id}`, { catchUp: false });
    assert.equal(off.json.data.catchUpPolicy, "none");
    // A read task written back changes nothing.
    const back = await t.api("PUT", `/api/scheduler/tasks/${seed.id}`, {
      catchUp: seed.catchUp,
      catchUpPolicy: seed.catchUpPolicy,
    });
    assert.equal(back.status, 200, back.text);
    for (const [extra, field, message] of [
      [{ catchUpPolicy: "some" }, "catchUpPolicy", /"none", "latest" or "all"/],
      [{ catchUp: false, catchUpPolicy: "all" }, "catchUp", /contradicts catchUpPolicy "all"/],
      [{ catchUp: true, catchUpPolicy: "none" }, "catchUp", /contradicts/],
      [{ catchUpWindowSeconds: 0 }, "catchUpWindowSeconds", /between 1 and 2678400/],
      [{ catchUpWindowSeconds: 31 * 86400 + 1 }, "catchUpWindowSeconds", /between 1 and 2678400/],
    ]) {
      const res = await t.api("POST", "/api/scheduler/tasks", { ...base, ...extra });
      assert.equal(res.status, 422, JSON.stringify(extra));
      assert.deepEqual(
        res.json.data.map((e) => e.field),
        [field],
      );
      assert.match(res.json.data[0].message, message);
    }
    for (const task of [none, seed, all]) await t.api("DELETE", `/api/scheduler/tasks/${task.id}`);
  });

  test("after maxRuns scheduled firings the task pauses itself; manual runs do not count", async () => {
    const task = (await t.api("POST", "/api/scheduler/tasks", { ...everySecond, maxRuns: 2 })).json.data;
    const paused = await eventually(
      async () => {
        const got = (await t.api("GET", `/api/scheduler/tasks/${task.id}`)).json.data.task;
        return got.enabled ? null : got;
      },
      15000,
      "the task paused",
    );
    assert.equal(paused.runCount, 2);
    assert.equal(paused.pausedNote, "paused by cronkit: made its 2 runs (maxRuns)");
    assert.equal(paused.nextRun, null);
    await eventually(async () => (await executions(task.id)).list.every((e) => e.status === "success"));
    const runs = await executions(task.id);
    assert.equal(runs.total, 2, "two firings, no more");
    assert.ok(runs.list.every((e) => e.trigger === "schedule"));

    const manual = await t.api("POST", `/api/scheduler/tasks/${task.id}/trigger`);
    assert.equal(manual.status, 202, manual.text);
    await eventually(async () => (await executions(task.id)).total === 3);
    assert.equal((await t.api("GET", `/api/scheduler/tasks/${task.id}`)).json.data.task.runCount, 2);

    // Resuming needs room for more runs.
    const resume = await t.api("POST", `/api/scheduler/tasks/${task.id}/toggle`, { enabled: true });
    assert.equal(resume.status, 422);
    assert.equal(resume.json.data[0].field, "enabled");
    assert.match(resume.json.data[0].message, /made all 2 of its maxRuns runs/);
    const stillLow = await t.api("PUT", `/api/scheduler/tasks/${task.id}`, { enabled: true, maxRuns: 2 });
    assert.equal(stillLow.status, 422);
    assert.deepEqual(stillLow.json.data, [
      {
        field: "maxRuns",
        message: "the task made 2 runs already: raise maxRuns above that, clear it, or pause the task",
      },
    ]);
    const raised = await t.api("PUT", `/api/scheduler/tasks/${task.id}`, { enabled: true, maxRuns: 3 });
    assert.equal(raised.status, 200, raised.text);
    assert.equal(raised.json.data.pausedNote, null);
    await eventually(
      async () => !(await t.api("GET", `/api/scheduler/tasks/${task.id}`)).json.data.task.enabled,
      15000,
      "paused again after the third run",
    );
    await eventually(async () => (await executions(task.id)).total === 4);
    await t.api("DELETE", `/api/scheduler/tasks/${task.id}`);
  });

  test("after pauseAfterFailures failed executions in a row the task pauses itself", async () => {
    const task = (
      await t.api("POST", "/api/scheduler/tasks", {
        name: "flaky endpoint",
        cronExpression: "* * * * * *",
        type: "http",
        httpUrl: failing.url("/fail"),
        overlapPolicy: "skip",
        maxRetries: 1,
        retryDelaySeconds: 1,
        pauseAfterFailures: 2,
      })
    ).json.data;
    const paused = await eventually(
      async () => {
        const got = (await t.api("GET", `/api/scheduler/tasks/${task.id}`)).json.data.task;
        return got.enabled ? null : got;
      },
      20000,
      "the task paused",
    );
    assert.equal(paused.pausedNote, "paused by cronkit: 2 failures in a row (pauseAfterFailures)");
    assert.equal(paused.nextRun, null);
    const failed = (await executions(task.id)).list.filter((e) => e.status === "failed");
    assert.ok(failed.length >= 2, `${failed.length} failed`);
    for (const e of failed) {
      assert.equal(e.attempts, 2, "counted after its retry");
      assert.match(e.errorMessage, /500/);
    }
    await t.api("DELETE", `/api/scheduler/tasks/${task.id}`);
  });
});
