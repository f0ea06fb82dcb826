// Logs: JSON lines on request, one line per request and per execution at debug level, a
// summary of how executions ended at info (every minute; every second here), and never a
// task's headers or body.
import { test } from "node:test";
import assert from "node:assert/strict";
import { client, eventually, serverForFile, startServer } from "./server.mjs";

const t = serverForFile({ args: ["--log-format", "json", "--log-level", "debug"] });

const lines = () =>
  t.server
    .log()
    .split("\n")
    .filter((l) => l.length > 0);

test("every line is a JSON object with time, level and message", async () => {
  await t.api("GET", "/api/scheduler/stats");
  // Lines are written by the server's log thread: the request's comes soon after its answer.
  await eventually(() => lines().some((l) => /"message":"GET \/api\/scheduler\/stats 200 /.test(l)));
  for (const line of lines()) {
    const entry = JSON.parse(line);
    assert.match(entry.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(["debug", "info", "warning", "error"].includes(entry.level), line);
    assert.equal(typeof entry.message, "string");
  }
});

test("outcomes are logged, task headers and bodies never", async () => {
  const secretHeader = "header-value-that-must-not-leak";
  const secretBody = "body-that-must-not-leak";
  const task = (
    await t.api("POST", "/api/scheduler/tasks", {
      name: "leak check",
      cronExpression: "0 0 1 1 *",
      type: "http",
      httpMethod: "POST",
      httpUrl: "http://127.0.0.1:9/unreachable",
      httpHeaders: JSON.stringify({ Authorization: `Bearer ${secretHeader}` }),
      httpBody: secretBody,
      timeoutSeconds: 2,
    })
  ).json.data;
  const id = (await t.api("POST", `/api/scheduler/tasks/${task.id}/trigger`)).json.data.executionId;
  await eventually(() => lines().some((l) => l.includes(`execution ${id} `) && l.includes("failed")));
  await t.server.settleLog();
  const log = t.server.log();
  assert.ok(!log.includes(secretHeader));
  assert.ok(!log.includes(secretBody));
});

test("at info level executions are summed up per interval, not logged one by one", async () => {
  const server = await startServer({ args: ["--log-level", "info", "--log-summary-seconds", "1"] });
  try {
    const api = client(server.base);
    const make = async (spec) =>
      (await api("POST", "/api/scheduler/tasks", { cronExpression: "0 0 1 1 *", ...spec })).json.data;
    const ok = await make({ name: "fine", type: "function", functionName: "cleanup-logs" });
    const alsoOk = await make({ name: "also fine", type: "function", functionName: "cleanup-logs" });
    const bad = await make({ name: "broken", type: "http", httpUrl: "http://127.0.0.1:9/refused" });
    const ids = [];
    for (const task of [ok, alsoOk, bad]) {
      ids.push((await api("POST", `/api/scheduler/tasks/${task.id}/trigger`)).json.data.executionId);
    }
    // One summary counts all three (they may also fall into two intervals: add them up).
    const summaries = () =>
      server
        .log()
        .split("\n")
        .map((l) =>
          /executions ended in the last \d+ s: (\d+) \((\d+) success, (\d+) failed, 0 timed out, 0 skipped\)(.*)/.exec(
            l,
          ),
        )
        .filter(Boolean);
    await eventually(() => summaries().reduce((n, m) => n + Number(m[1]), 0) >= 3, 10000, "summaries of 3");
    const sum = (i) => summaries().reduce((n, m) => n + Number(m[i]), 0);
    assert.equal(sum(1), 3);
    assert.equal(sum(2), 2);
    assert.equal(sum(3), 1);
    const named = summaries().find((m) => Number(m[3]) === 1)[4];
    assert.match(named, new RegExp(`; most failures: task ${bad.id} \\(1, last: .+\\)$`));
    // Each execution's own line is at debug: none of them is in the log, which holds the
    // summaries written after they ended.
    for (const id of ids) assert.ok(!server.log().includes(id), `${id} logged at info`);
  } finally {
    await server.stop();
  }
});
