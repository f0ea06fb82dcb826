// Executions at scale through the API: pages by cursor (`before` = the last page's
// `nextCursor`) that walk the whole history once, in order, unmoved by new executions; totals
// counted up to 10,000 and marked when there are more. 10,050 old executions are written
// straight into the server's SQLite file (a second connection; ids made as the server makes
// them: UUIDv7s of the queue time).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { eventually, serverForFile } from "./server.mjs";

const t = serverForFile();
const sql = (q) =>
  execFileSync("sqlite3", [join(t.server.dir, "cronkit.db"), q], { encoding: "utf8" }).trim();
const list = async (query) => {
  const res = await t.api("GET", `/api/scheduler/executions?${query}`);
  assert.equal(res.status, 200, res.text);
  return res.json.data;
};

// n executions of a task, one a second from `from` (ms), with this status.
function write(taskId, n, from, status) {
  sql(`WITH RECURSIVE i(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM i WHERE n + 1 < ${n})
       INSERT INTO task_execution_logs (id, task_id, status, scheduled_for, queued_at, attempts)
       SELECT printf('%08x-%04x-7000-8000-%012x', (${from} + n * 1000) >> 16,
                     (${from} + n * 1000) & 65535, n),
              '${taskId}', '${status}', ${from} + n * 1000, ${from} + n * 1000, 1 FROM i`);
}

test("pages by cursor walk every execution once, newest first; totals stop counting at 10,000", async () => {
  // HTTP tasks that never fire (a run fails at once: nothing listens on port 9).
  const make = async (name) =>
    (
      await t.api("POST", "/api/scheduler/tasks", {
        name,
        cronExpression: "0 0 1 1 *",
        type: "http",
        httpUrl: "http://127.0.0.1:9/",
      })
    ).json.data;
  const busy = await make("busy");
  const rare = await make("rare");
  const from = Math.floor(Date.now() / 1000) * 1000 - 4 * 3600 * 1000; // within the retention
  write(busy.id, 10050, from, "success");
  write(rare.id, 30, from + 500, "failed");

  const first = await list("pageSize=500");
  assert.equal(first.total, 10000);
  assert.equal(first.totalExact, false);
  assert.equal(first.list.length, 500);
  assert.equal(first.nextCursor, first.list.at(-1).id);
  // Exact below the cap, and with filters.
  const failed = await list("status=failed");
  assert.deepEqual([failed.total, failed.totalExact], [30, true]);
  const ofRare = await list(`taskId=${rare.id}&pageSize=500`);
  assert.deepEqual(
    [ofRare.total, ofRare.totalExact, ofRare.list.length, ofRare.nextCursor],
    [30, true, 30, null],
  );

  // New executions after the first page do not move the pages that follow it.
  const run = (await t.api("POST", `/api/scheduler/tasks/${rare.id}/trigger`)).json.data.executionId;
  await eventually(
    async () => (await t.api("GET", `/api/scheduler/executions/${run}`)).json.data.status === "failed",
  );
  const ids = first.list.map((e) => e.id);
  let cursor = first.nextCursor;
  let pages = 1;
  while (cursor) {
    const page = await list(`pageSize=500&before=${cursor}`);
    assert.equal(page.page, 1);
    ids.push(...page.list.map((e) => e.id));
    cursor = page.nextCursor;
    pages += 1;
  }
  assert.equal(pages, 21);
  assert.equal(ids.length, 10080, "every execution once");
  assert.equal(new Set(ids).size, ids.length);
  assert.deepEqual(ids, [...ids].sort().reverse(), "newest first");
  assert.ok(!ids.includes(run), "the run after the first page is not on a later one");

  // The cursor combines with the filters.
  const olderFailures = await list(`status=failed&pageSize=10&before=${failed.list[9].id}`);
  assert.deepEqual(
    olderFailures.list.map((e) => e.id),
    failed.list.slice(10, 20).map((e) => e.id),
  );
});

test("a bad cursor is a 400 naming `before`", async () => {
  for (const [query, message] of [
    ["before=not-an-id", /must be an execution id/],
    ["before=0190B8C4-0000-7000-8000-000000000000", /must be an execution id/],
    ["page=2&before=0190b8c4-0000-7000-8000-000000000000", /cannot be combined with page/],
  ]) {
    const res = await t.api("GET", `/api/scheduler/executions?${query}`);
    assert.equal(res.status, 400, query);
    assert.equal(res.json.data[0].field, "before");
    assert.match(res.json.data[0].message, message);
  }
});
