// Logs: JSON lines on request, one line per request at debug level, execution outcomes at
// info, and never a task's headers or body.
import { test } from "node:test";
import assert from "node:assert/strict";
import { eventually, serverForFile } from "./server.mjs";

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
