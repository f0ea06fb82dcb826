// Every request the API refuses leaves the database exactly as it was: the tables are
// dumped with the sqlite3 shell (a second, read-only connection) before and after.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { serverForFile } from "./server.mjs";

const t = serverForFile();

function dump() {
  return execFileSync(
    "sqlite3",
    ["-readonly", join(t.server.dir, "cronkit.db"), ".dump scheduled_tasks task_execution_logs"],
    { encoding: "utf8" },
  );
}

const fnTask = {
  name: "kept",
  cronExpression: "0 0 3 * * *",
  type: "function",
  functionName: "cleanup-logs",
};

test("refused requests write nothing", async () => {
  const task = (await t.api("POST", "/api/scheduler/tasks", fnTask)).json.data;
  const paused = (await t.api("POST", "/api/scheduler/tasks", { ...fnTask, name: "paused", enabled: false }))
    .json.data;
  const before = dump();
  assert.match(before, /INSERT INTO scheduled_tasks VALUES\('[0-9a-f-]+','kept'/);

  const url = `/api/scheduler/tasks/${task.id}`;
  const refused = [
    // validation: 422, the field named
    ["POST", "/api/scheduler/tasks", { ...fnTask, cronExpression: "61 * * * *" }, 422],
    ["POST", "/api/scheduler/tasks", { ...fnTask, timezone: "Mars/Olympus" }, 422],
    ["POST", "/api/scheduler/tasks", { ...fnTask, functionName: "nope" }, 422],
    ["POST", "/api/scheduler/tasks", { ...fnTask, functionPayload: "{" }, 422],
    ["POST", "/api/scheduler/tasks", { ...fnTask, name: "x".repeat(201) }, 422],
    ["POST", "/api/scheduler/tasks", { ...fnTask, maxRetries: -1 }, 422],
    ["POST", "/api/scheduler/tasks", { ...fnTask, retryDelaySeconds: 0 }, 422],
    ["POST", "/api/scheduler/tasks", { ...fnTask, timeoutSeconds: 86401 }, 422],
    ["POST", "/api/scheduler/tasks", { ...fnTask, overlapPolicy: "queue" }, 422],
    ["POST", "/api/scheduler/tasks", { ...fnTask, enabled: "yes" }, 422],
    ["POST", "/api/scheduler/tasks", { ...fnTask, id: "chosen" }, 422],
    ["POST", "/api/scheduler/tasks", { name: "h", cronExpression: "* * * * *", type: "http" }, 422],
    [
      "POST",
      "/api/scheduler/tasks",
      { name: "h", cronExpression: "* * * * *", type: "http", httpUrl: "ftp://x/" },
      422,
    ],
    [
      "POST",
      "/api/scheduler/tasks",
      { name: "h", cronExpression: "* * * * *", type: "http", httpUrl: "http://a/", httpHeaders: '{"A":1}' },
      422,
    ],
    [
      "POST",
      "/api/scheduler/tasks",
      {
        name: "h",
        cronExpression: "* * * * *",
        type: "http",
        httpUrl: "http://a/",
        httpHeaders: '{"A":"x\\r\\nB: y"}',
      },
      422,
    ],
    ["POST", "/api/scheduler/tasks", { name: "h", cronExpression: "* * * * *", type: "shell" }, 422],
    ["POST", "/api/scheduler/tasks", [], 422],
    ["PUT", url, { type: "http" }, 422],
    ["PUT", url, { cronExpression: "* * * *" }, 422],
    ["PUT", url, { createdAt: 1 }, 422],
    ["PUT", url, { name: "" }, 422],
    ["POST", `${url}/toggle`, { enabled: false, name: "x" }, 422],
    ["POST", "/api/scheduler/cron/preview", { cronExpression: "* * * * * * * *" }, 422],
    // malformed or missing bodies: 400
    ["POST", "/api/scheduler/tasks", '{"name": ', 400],
    ["POST", "/api/scheduler/tasks", "[".repeat(100) + "]".repeat(100), 400],
    ["POST", `${url}/toggle`, undefined, 400],
    ["POST", `${url}/toggle`, { enabled: "false" }, 400],
    ["PUT", url, undefined, 400],
    // size and type: 413, 415
    ["POST", "/api/scheduler/tasks", { ...fnTask, name: "x".repeat(1 << 20) }, 413],
    ["POST", "/api/scheduler/tasks", JSON.stringify(fnTask), 415, { "content-type": "text/plain" }],
    ["PUT", url, JSON.stringify({ name: "y" }), 415, { "content-type": "application/x-www-form-urlencoded" }],
    // unknown ids and routes: 404, wrong methods: 405
    ["PUT", "/api/scheduler/tasks/missing", { name: "y" }, 404],
    ["DELETE", "/api/scheduler/tasks/missing", undefined, 404],
    ["POST", "/api/scheduler/tasks/missing/trigger", undefined, 404],
    ["POST", "/api/scheduler/tasks/missing/toggle", { enabled: true }, 404],
    ["POST", "/api/scheduler/tasks/x/y/z", {}, 404],
    ["PATCH", url, { name: "y" }, 405],
    ["POST", "/api/scheduler/executions", {}, 405],
    ["DELETE", "/api/scheduler/tasks", undefined, 405],
  ];
  for (const [method, path, body, status, headers] of refused) {
    const res = await t.api(method, path, body, headers);
    const what = `${method} ${path} ${typeof body === "string" ? body.slice(0, 40) : JSON.stringify(body)?.slice(0, 80)}`;
    assert.equal(res.status, status, `${what}: ${res.text.slice(0, 200)}`);
    assert.equal(res.json.code, status, what);
    if (status === 422)
      assert.ok(res.json.data.length > 0 && res.json.data[0].field, `${what}: names the field`);
    assert.equal(dump(), before, `${what} changed the database`);
  }
  assert.equal((await t.api("GET", `/api/scheduler/tasks/${paused.id}`)).json.data.task.enabled, false);
});
