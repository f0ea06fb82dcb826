// Backfill against the real binary: a task's past instants in a range run once each, with
// trigger backfill; the preview counts them; bad ranges are refused naming the field.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { eventually, serverForFile } from "./server.mjs";

const t = serverForFile();

const fn = {
  name: "backfilled",
  cronExpression: "*/10 * * * * *",
  type: "function",
  functionName: "cleanup-logs",
  enabled: false, // only the backfill runs it
};

async function runs(taskId) {
  return (await t.api("GET", `/api/scheduler/executions?taskId=${taskId}&pageSize=100`)).json.data;
}

describe("backfill", () => {
  test("runs every instant of the range once, oldest first, and never again", async () => {
    const task = (await t.api("POST", "/api/scheduler/tasks", fn)).json.data;
    const end = Math.floor(Date.now() / 10000) * 10000; // an instant of the pattern
    const from = end - 60000;
    const preview = await t.api(
      "GET",
      `/api/scheduler/tasks/${task.id}/backfill/preview?from=${from}&to=${end}`,
    );
    assert.equal(preview.status, 200, preview.text);
    assert.deepEqual(preview.json.data, {
      count: 6,
      more: false,
      allowed: true,
      maxCount: 10000,
      instants: [0, 1, 2, 3, 4, 5].map((i) => from + i * 10000),
    });
    assert.equal((await runs(task.id)).total, 0, "the preview runs nothing");

    const started = await t.api("POST", `/api/scheduler/tasks/${task.id}/backfill`, { from, to: end });
    assert.equal(started.status, 202, started.text);
    assert.deepEqual(started.json.data, { count: 6 });
    await eventually(
      async () => (await runs(task.id)).list.filter((e) => e.status === "success").length === 6,
    );
    const done = (await runs(task.id)).list;
    assert.ok(done.every((e) => e.trigger === "backfill"));
    assert.deepEqual(done.map((e) => e.scheduledFor).sort(), preview.json.data.instants);

    // Again, overlapping: only the new instant runs (the claim refuses the others).
    const again = await t.api("POST", `/api/scheduler/tasks/${task.id}/backfill`, {
      from: from - 10000,
      to: end,
    });
    assert.deepEqual(again.json.data, { count: 7 });
    await eventually(async () => (await runs(task.id)).list.some((e) => e.scheduledFor === from - 10000));
    // A later backfill that has run proves the earlier one's claims were all answered.
    await t.api("POST", `/api/scheduler/tasks/${task.id}/backfill`, { from: from - 20000, to: from - 10000 });
    await eventually(async () => (await runs(task.id)).list.some((e) => e.scheduledFor === from - 20000));
    const all = (await runs(task.id)).list;
    assert.equal(all.length, 8);
    assert.equal(new Set(all.map((e) => e.scheduledFor)).size, 8, "each instant once");
    await t.api("DELETE", `/api/scheduler/tasks/${task.id}`);
  });

  test("a bad range is refused naming the field, and nothing runs", async () => {
    const task = (await t.api("POST", "/api/scheduler/tasks", { ...fn, cronExpression: "* * * * * *" })).json
      .data;
    const now = Date.now();
    const cases = [
      [{ from: now - 1000 }, ["to"], /is required/],
      [{ from: now, to: now - 1000 }, ["to"], /must be after from/],
      [{ from: now - 1000, to: now + 60000 }, ["to"], /must not be in the future/],
      [{ from: now - 3 * 3600000, to: now }, ["to"], /holds 108\d\d instants; at most 10000/],
      [{ from: 0, to: now }, ["to"], /more than 1000000 instants/],
      [{ from: now - 1000, to: now, overlapPolicy: "queue" }, ["overlapPolicy"], /buffer_all/],
      [{ from: "yesterday", to: now, extra: 1 }, ["extra", "from"], /not a field|required/],
    ];
    for (const [body, fields, message] of cases) {
      const res = await t.api("POST", `/api/scheduler/tasks/${task.id}/backfill`, body);
      assert.equal(res.status, 422, JSON.stringify(body));
      assert.deepEqual(
        res.json.data.map((e) => e.field),
        fields,
        JSON.stringify(body),
      );
      assert.match(res.json.data[0].message, message);
    }
    const tooMany = (
      await t.api(
        "GET",
        `/api/scheduler/tasks/${task.id}/backfill/preview?from=${now - 3 * 3600000}&to=${now}`,
      )
    ).json.data;
    assert.equal(tooMany.allowed, false);
    assert.ok(tooMany.count > 10000 && tooMany.count <= 10801);
    assert.equal(tooMany.instants.length, 20);
    for (const query of ["from=1", `from=1&to=${now + 60000}`, "from=x&to=2", "from=5&to=5"]) {
      const res = await t.api("GET", `/api/scheduler/tasks/${task.id}/backfill/preview?${query}`);
      assert.equal(res.status, 400, query);
    }
    assert.equal((await t.api("POST", "/api/scheduler/tasks/nope/backfill", { from: 0, to: 1 })).status, 404);
    assert.equal((await runs(task.id)).total, 0);
    await t.api("DELETE", `/api/scheduler/tasks/${task.id}`);
  });
});
