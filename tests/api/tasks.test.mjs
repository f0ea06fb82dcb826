// The REST API against the real binary over loopback: the seed's endpoints, the envelope,
// validation that names the field, and nothing written by a refused request.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { eventually, serverForFile } from "./server.mjs";

const t = serverForFile();

const fnTask = {
  name: "nightly cleanup",
  cronExpression: "0 0 3 * * *",
  timezone: "Europe/Berlin",
  type: "function",
  functionName: "cleanup-logs",
  functionPayload: '{"days":30}',
};

function fieldsOf(res) {
  return res.json.data.map((e) => e.field);
}

describe("tasks", () => {
  test("create, read, list with next run and registered functions", async () => {
    const created = await t.api("POST", "/api/scheduler/tasks", fnTask);
    assert.equal(created.status, 201);
    assert.equal(created.json.code, 0);
    assert.equal(created.json.message, "ok");
    const task = created.json.data;
    assert.match(task.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/);
    assert.equal(task.name, fnTask.name);
    assert.equal(task.enabled, true);
    assert.equal(task.catchUp, false);
    assert.equal(task.overlapPolicy, "allow");
    assert.equal(typeof task.createdAt, "number");

    const got = await t.api("GET", `/api/scheduler/tasks/${task.id}`);
    assert.equal(got.status, 200);
    assert.deepEqual(got.json.data.recentExecutions, []);
    assert.equal(got.json.data.task.name, fnTask.name);
    assert.ok(got.json.data.task.nextRun > Date.now());

    const list = await t.api("GET", "/api/scheduler/tasks?page=1&pageSize=5");
    assert.equal(list.status, 200);
    const { data } = list.json;
    assert.equal(data.page, 1);
    assert.equal(data.pageSize, 5);
    assert.ok(data.total >= 1);
    assert.ok(data.registeredFunctions.includes("cleanup-logs"));
    const row = data.list.find((t) => t.id === task.id);
    assert.ok(row.nextRun > Date.now());
    assert.equal(row.lastStatus, null);
  });

  test("filters by type and enabled", async () => {
    const http = await t.api("POST", "/api/scheduler/tasks", {
      name: "ping",
      cronExpression: "*/10 * * * * *",
      type: "http",
      httpUrl: "http://127.0.0.1:9/",
      enabled: false,
    });
    assert.equal(http.status, 201);
    const onlyHttp = await t.api("GET", "/api/scheduler/tasks?type=http");
    assert.ok(onlyHttp.json.data.list.every((t) => t.type === "http"));
    assert.ok(onlyHttp.json.data.list.some((t) => t.id === http.json.data.id));
    const disabled = await t.api("GET", "/api/scheduler/tasks?enabled=0");
    assert.ok(disabled.json.data.list.every((t) => t.enabled === false));
    assert.equal(disabled.json.data.list.find((t) => t.id === http.json.data.id).nextRun, null);
  });

  test("searches names", async () => {
    await t.api("POST", "/api/scheduler/tasks", { ...fnTask, name: "Quarterly Invoice Run" });
    const found = await t.api("GET", "/api/scheduler/tasks?name=invoice");
    assert.equal(found.status, 200);
    assert.deepEqual(
      found.json.data.list.map((x) => x.name),
      ["Quarterly Invoice Run"],
    );
    assert.equal(found.json.data.total, 1);
    assert.equal((await t.api("GET", "/api/scheduler/tasks?name=%25%25")).json.data.total, 0);
    const long = await t.api("GET", `/api/scheduler/tasks?name=${"x".repeat(201)}`);
    assert.equal(long.status, 400);
    assert.equal(long.json.data[0].field, "name");
  });

  test("tags are kept in order, edited, cleared and filtered (all of several)", async () => {
    const make = async (name, tags) => {
      const res = await t.api("POST", "/api/scheduler/tasks", { ...fnTask, name, tags });
      assert.equal(res.status, 201, res.text);
      return res.json.data;
    };
    const a = await make("tagged a", ["team:payments", "env/prod"]);
    assert.deepEqual(a.tags, ["team:payments", "env/prod"]);
    await make("tagged b", ["env/prod", "team:payments", "tier-1.x_y"]);
    await make("tagged c", ["team:payments"]);
    assert.deepEqual((await t.api("POST", "/api/scheduler/tasks", fnTask)).json.data.tags, []);
    const names = async (query) => {
      const res = await t.api("GET", `/api/scheduler/tasks?${query}`);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.data.total, res.json.data.list.length);
      return res.json.data.list.map((x) => x.name).sort();
    };
    assert.deepEqual(await names("tag=team%3Apayments"), ["tagged a", "tagged b", "tagged c"]);
    assert.deepEqual(await names("tag=team:payments&tag=env/prod"), ["tagged a", "tagged b"]);
    assert.deepEqual(await names("tag=env/prod&name=b"), ["tagged b"]);
    assert.deepEqual(await names("tag=team"), []);

    const edited = await t.api("PUT", `/api/scheduler/tasks/${a.id}`, { tags: ["team:ops"] });
    assert.deepEqual(edited.json.data.tags, ["team:ops"]);
    assert.deepEqual(await names("tag=team:payments&tag=env/prod"), ["tagged b"]);
    const cleared = await t.api("PUT", `/api/scheduler/tasks/${a.id}`, { tags: null });
    assert.deepEqual(cleared.json.data.tags, []);

    for (const [query, message] of [
      ["tag=", /1 to 64 characters/],
      ["tag=a%20b", /letters, digits/],
      [`tag=${"x".repeat(65)}`, /1 to 64/],
    ]) {
      const res = await t.api("GET", `/api/scheduler/tasks?${query}`);
      assert.equal(res.status, 400, query);
      assert.equal(res.json.data[0].field, "tag");
      assert.match(res.json.data[0].message, message);
    }
    const before = (await t.api("GET", "/api/scheduler/tasks")).json.data.total;
    for (const [tags, field, message] of [
      ["team", "tags", /array of strings, not a string/],
      [["ok", 7], "tags[1]", /must be a string/],
      [["a b"], "tags[0]", /letters, digits, -, _, ., \/ and :/],
      [[""], "tags[0]", /1 to 64/],
      [["x", "x"], "tags[1]", /repeats "x"/],
      [Array.from({ length: 21 }, (_, i) => `t${i}`), "tags", /at most 20 tags/],
    ]) {
      const res = await t.api("POST", "/api/scheduler/tasks", { ...fnTask, tags });
      assert.equal(res.status, 422, JSON.stringify(tags));
      const err = res.json.data.find((e) => e.field === field);
      assert.ok(err, `${field} named for ${JSON.stringify(tags)}: ${res.text}`);
      assert.match(err.message, message);
    }
    assert.equal((await t.api("GET", "/api/scheduler/tasks")).json.data.total, before);
  });

  test("validation names the field and writes nothing", async () => {
    const before = (await t.api("GET", "/api/scheduler/tasks")).json.data.total;
    const cases = [
      [{ ...fnTask, cronExpression: "0 0 25 * * *" }, "cronExpression", /hour: 25 is out of range/],
      [{ ...fnTask, timezone: "Nowhere/City" }, "timezone", /Nowhere\/City/],
      [{ ...fnTask, functionName: "missing" }, "functionName", /registered: .*cleanup-logs/],
      [{ ...fnTask, functionPayload: "{not json" }, "functionPayload", /not valid JSON/],
      [{ ...fnTask, name: "" }, "name", /blank/],
      [{ ...fnTask, maxRetries: 1000 }, "maxRetries", /between 0 and 100/],
      [{ ...fnTask, surprise: true }, "surprise", /not a field/],
      [{ ...fnTask, retryBackoff: "linear" }, "retryBackoff", /"fixed" or "exponential"/],
      [{ ...fnTask, retryMaxDelaySeconds: 86401 }, "retryMaxDelaySeconds", /between 1 and 86400/],
      [
        { ...fnTask, cronExpression: "1,".repeat(50000) + "1 * * * *" },
        "cronExpression",
        /at most 1024 characters/,
      ],
      [
        { ...fnTask, functionPayload: JSON.stringify("p".repeat(262144)) },
        "functionPayload",
        /at most 262144 bytes/,
      ],
      [
        { name: "x", cronExpression: "* * * * *", type: "http", httpUrl: "file:///etc/passwd" },
        "httpUrl",
        /http or https/,
      ],
      [
        { name: "x", cronExpression: "* * * * *", type: "http", httpUrl: "http://a/", httpHeaders: "[]" },
        "httpHeaders",
        /JSON object/,
      ],
    ];
    for (const [body, field, message] of cases) {
      const res = await t.api("POST", "/api/scheduler/tasks", body);
      assert.equal(res.status, 422, JSON.stringify(body));
      assert.equal(res.json.code, 422);
      const err = res.json.data.find((e) => e.field === field);
      assert.ok(err, `${field} named for ${JSON.stringify(body)}: ${res.text}`);
      assert.match(err.message, message);
    }
    assert.equal((await t.api("GET", "/api/scheduler/tasks")).json.data.total, before);
  });

  test("update is partial and validates the merged task", async () => {
    const task = (await t.api("POST", "/api/scheduler/tasks", fnTask)).json.data;
    const renamed = await t.api("PUT", `/api/scheduler/tasks/${task.id}`, { name: "renamed", maxRetries: 2 });
    assert.equal(renamed.status, 200);
    assert.equal(renamed.json.data.name, "renamed");
    assert.equal(renamed.json.data.maxRetries, 2);
    assert.equal(renamed.json.data.cronExpression, fnTask.cronExpression);
    assert.ok(renamed.json.data.updatedAt >= task.updatedAt);

    const bad = await t.api("PUT", `/api/scheduler/tasks/${task.id}`, { type: "http", name: "changed" });
    assert.equal(bad.status, 422);
    assert.deepEqual(fieldsOf(bad), ["httpUrl"]);
    const unchanged = await t.api("GET", `/api/scheduler/tasks/${task.id}`);
    assert.equal(unchanged.json.data.task.name, "renamed");
    assert.equal(unchanged.json.data.task.type, "function");
  });

  test("toggle needs {enabled} and takes effect at once", async () => {
    const task = (await t.api("POST", "/api/scheduler/tasks", fnTask)).json.data;
    const noBody = await t.api("POST", `/api/scheduler/tasks/${task.id}/toggle`);
    assert.equal(noBody.status, 400);
    const wrongType = await t.api("POST", `/api/scheduler/tasks/${task.id}/toggle`, { enabled: "no" });
    assert.equal(wrongType.status, 400);
    assert.deepEqual(fieldsOf(wrongType), ["enabled"]);
    const off = await t.api("POST", `/api/scheduler/tasks/${task.id}/toggle`, { enabled: false });
    assert.equal(off.status, 200);
    assert.equal(off.json.data.enabled, false);
    const got = await t.api("GET", `/api/scheduler/tasks/${task.id}`);
    assert.equal(got.json.data.task.nextRun, null);
    const on = await t.api("POST", `/api/scheduler/tasks/${task.id}/toggle`, { enabled: true });
    assert.equal(on.json.data.enabled, true);
    assert.ok((await t.api("GET", `/api/scheduler/tasks/${task.id}`)).json.data.task.nextRun > Date.now());
  });

  test("trigger answers 202 with the execution, which runs", async () => {
    const task = (await t.api("POST", "/api/scheduler/tasks", fnTask)).json.data;
    const trig = await t.api("POST", `/api/scheduler/tasks/${task.id}/trigger`);
    assert.equal(trig.status, 202);
    const id = trig.json.data.executionId;
    const done = await eventually(async () => {
      const e = await t.api("GET", `/api/scheduler/executions/${id}`);
      return e.status === 200 && e.json.data.status === "success" ? e.json.data : null;
    });
    assert.equal(done.taskId, task.id);
    assert.equal(done.trigger, "manual");
    assert.equal(done.attempts, 1);
    assert.match(done.resultSummary, /^deleted 0 successful executions older than 30 days$/);

    const byTask = await t.api("GET", `/api/scheduler/executions?taskId=${task.id}&status=success`);
    assert.equal(byTask.json.data.total, 1);
    assert.equal(byTask.json.data.list[0].id, id);
    assert.equal(byTask.json.data.list[0].taskName, fnTask.name);
    const detail = await t.api("GET", `/api/scheduler/tasks/${task.id}`);
    assert.equal(detail.json.data.recentExecutions[0].id, id);
    const listed = await t.api("GET", "/api/scheduler/tasks?pageSize=500");
    assert.equal(listed.json.data.list.find((t) => t.id === task.id).lastStatus, "success");
  });

  // A 202 means the execution is stored: readable at once, and not lost if the server
  // stops right after answering.
  test("a triggered execution is stored before the answer", async () => {
    const task = (await t.api("POST", "/api/scheduler/tasks", fnTask)).json.data;
    for (let i = 0; i < 50; i++) {
      const trig = await t.api("POST", `/api/scheduler/tasks/${task.id}/trigger`);
      assert.equal(trig.status, 202);
      const e = await t.api("GET", `/api/scheduler/executions/${trig.json.data.executionId}`);
      assert.equal(e.status, 200, `trigger ${i}: ${e.text}`);
    }
  });

  test("retry backoff: fixed by default, exponential with its cap when asked", async () => {
    const plain = (await t.api("POST", "/api/scheduler/tasks", fnTask)).json.data;
    assert.equal(plain.retryBackoff, "fixed");
    assert.equal(plain.retryMaxDelaySeconds, 3600);
    const changed = await t.api("PUT", `/api/scheduler/tasks/${plain.id}`, {
      retryBackoff: "exponential",
      retryMaxDelaySeconds: 600,
    });
    assert.equal(changed.status, 200, changed.text);
    const read = (await t.api("GET", `/api/scheduler/tasks/${plain.id}`)).json.data.task;
    assert.equal(read.retryBackoff, "exponential");
    assert.equal(read.retryMaxDelaySeconds, 600);
    await t.api("DELETE", `/api/scheduler/tasks/${plain.id}`);
  });

  test("a pause can say why; resuming clears it", async () => {
    const task = (await t.api("POST", "/api/scheduler/tasks", fnTask)).json.data;
    assert.equal(task.pausedNote, null);
    assert.equal(task.pausedAt, null);
    const before = Date.now();
    const paused = await t.api("POST", `/api/scheduler/tasks/${task.id}/toggle`, {
      enabled: false,
      note: "waiting for the vendor",
    });
    assert.equal(paused.status, 200, paused.text);
    assert.equal(paused.json.data.enabled, false);
    assert.equal(paused.json.data.pausedNote, "waiting for the vendor");
    assert.ok(paused.json.data.pausedAt >= before - 1000);
    const read = (await t.api("GET", `/api/scheduler/tasks/${task.id}`)).json.data.task;
    assert.equal(read.pausedNote, "waiting for the vendor");
    for (const [body, message] of [
      [{ enabled: true, note: "x" }, /only taken when pausing/],
      [{ enabled: false, note: 7 }, /must be a string or null/],
      [{ enabled: false, note: "n".repeat(501) }, /at most 500 characters/],
      [{ enabled: false, note: "line\nbreak" }, /control characters/],
    ]) {
      const res = await t.api("POST", `/api/scheduler/tasks/${task.id}/toggle`, body);
      assert.equal(res.status, 422, JSON.stringify(body));
      assert.equal(res.json.data[0].field, "note");
      assert.match(res.json.data[0].message, message);
    }
    const resumed = (await t.api("POST", `/api/scheduler/tasks/${task.id}/toggle`, { enabled: true })).json
      .data;
    assert.equal(resumed.pausedNote, null);
    assert.equal(resumed.pausedAt, null);
    // Paused through an update: since when, and no reason given.
    const updated = (await t.api("PUT", `/api/scheduler/tasks/${task.id}`, { enabled: false })).json.data;
    assert.equal(updated.pausedNote, null);
    assert.ok(updated.pausedAt >= before - 1000);
    await t.api("DELETE", `/api/scheduler/tasks/${task.id}`);
  });

  test("a task fires only between startAt and endAt; the preview shows it", async () => {
    const hour = 3600000;
    const start = Math.ceil((Date.now() + 2 * hour) / hour) * hour; // a whole hour ahead
    const windowed = (
      await t.api("POST", "/api/scheduler/tasks", {
        ...fnTask,
        cronExpression: "0 * * * *",
        timezone: "UTC",
        startAt: start,
        endAt: start + 2 * hour,
      })
    ).json.data;
    assert.equal(windowed.startAt, start);
    assert.equal(windowed.endAt, start + 2 * hour);
    const read = (await t.api("GET", `/api/scheduler/tasks/${windowed.id}`)).json.data.task;
    assert.equal(read.nextRun, start, "the first instant at or after the start");
    const preview = (
      await t.api("POST", "/api/scheduler/cron/preview", {
        cronExpression: "0 * * * *",
        timezone: "UTC",
        count: 10,
        startAt: start,
        endAt: start + 2 * hour,
      })
    ).json.data;
    assert.deepEqual(preview.nextRuns, [start, start + hour, start + 2 * hour]);
    // Ended: no next run.
    const ended = await t.api("PUT", `/api/scheduler/tasks/${windowed.id}`, {
      startAt: null,
      endAt: Date.now() - 1,
    });
    assert.equal(ended.status, 200, ended.text);
    const after = (await t.api("GET", `/api/scheduler/tasks/${windowed.id}`)).json.data.task;
    assert.equal(after.nextRun, null);
    const bad = await t.api("PUT", `/api/scheduler/tasks/${windowed.id}`, { startAt: 2000, endAt: 1000 });
    assert.equal(bad.status, 422);
    assert.deepEqual(bad.json.data, [{ field: "endAt", message: "must not be before startAt" }]);
    await t.api("DELETE", `/api/scheduler/tasks/${windowed.id}`);
  });

  test("jitter delays each start, the same for the task page and the preview", async () => {
    const plain = (await t.api("POST", "/api/scheduler/tasks", fnTask)).json.data;
    assert.equal(plain.jitterSeconds, 0);
    await t.api("DELETE", `/api/scheduler/tasks/${plain.id}`);
    for (const jitterSeconds of [-1, 3601, 1.5, "60", null]) {
      const res = await t.api("POST", "/api/scheduler/tasks", { ...fnTask, jitterSeconds });
      assert.equal(res.status, 422, String(jitterSeconds));
      assert.deepEqual(fieldsOf(res), ["jitterSeconds"]);
      assert.match(res.json.data[0].message, /between 0 and 3600|whole number|must be a number/);
    }
    const hour = 3600000;
    const task = (
      await t.api("POST", "/api/scheduler/tasks", {
        ...fnTask,
        cronExpression: "0 * * * *",
        timezone: "UTC",
        jitterSeconds: 3600,
      })
    ).json.data;
    assert.equal(task.jitterSeconds, 3600);
    const read = (await t.api("GET", `/api/scheduler/tasks/${task.id}`)).json.data.task;
    const instant = Math.ceil((Date.now() + 1) / hour) * hour;
    assert.ok(read.nextRun >= instant && read.nextRun < instant + hour, `${read.nextRun} vs ${instant}`);
    const preview = (
      await t.api("POST", "/api/scheduler/cron/preview", {
        cronExpression: "0 * * * *",
        timezone: "UTC",
        count: 3,
        jitterSeconds: 3600,
        taskId: task.id,
      })
    ).json.data;
    assert.equal(preview.jitterSeconds, 3600);
    assert.deepEqual(preview.nextRuns, [instant, instant + hour, instant + 2 * hour]);
    assert.equal(preview.startsAt.length, 3);
    assert.equal(preview.startsAt[0], read.nextRun, "the preview and the scheduler agree");
    preview.startsAt.forEach((s, i) => assert.ok(s >= preview.nextRuns[i] && s < preview.nextRuns[i] + hour));
    // Without a task's id, the instants only (the delays depend on it).
    const anonymous = (
      await t.api("POST", "/api/scheduler/cron/preview", { cronExpression: "0 * * * *", jitterSeconds: 60 })
    ).json.data;
    assert.equal(anonymous.startsAt, undefined);
    const bad = await t.api("POST", "/api/scheduler/cron/preview", {
      cronExpression: "0 * * * *",
      jitterSeconds: 4000,
      taskId: "",
    });
    assert.equal(bad.status, 422);
    assert.deepEqual(fieldsOf(bad), ["jitterSeconds", "taskId"]);
    await t.api("DELETE", `/api/scheduler/tasks/${task.id}`);
  });

  test("a page polled again changes as soon as its data does", async () => {
    const path = "/api/scheduler/tasks?page=1&pageSize=3";
    // Runs that earlier tests started are over first: their end would change the page.
    await eventually(async () => {
      const stats = (await t.api("GET", "/api/scheduler/stats")).json.data;
      return stats.running === 0 && stats.queued === 0;
    });
    const first = (await t.api("GET", path)).json.data;
    assert.deepEqual((await t.api("GET", path)).json.data, first, "nothing changed");
    const task = (await t.api("POST", "/api/scheduler/tasks", { ...fnTask, name: "polled" })).json.data;
    const created = (await t.api("GET", path)).json.data;
    assert.equal(created.total, first.total + 1);
    assert.equal(created.list[0].id, task.id);
    assert.equal(created.list[0].lastStatus, null);

    const id = (await t.api("POST", `/api/scheduler/tasks/${task.id}/trigger`)).json.data.executionId;
    await eventually(
      async () => (await t.api("GET", `/api/scheduler/executions/${id}`)).json.data?.status === "success",
    );
    assert.equal((await t.api("GET", path)).json.data.list[0].lastStatus, "success");

    await t.api("POST", `/api/scheduler/tasks/${task.id}/toggle`, { enabled: false });
    const paused = (await t.api("GET", path)).json.data.list[0];
    assert.equal(paused.enabled, false);
    assert.equal(paused.nextRun, null);
    await t.api("DELETE", `/api/scheduler/tasks/${task.id}`);
    assert.deepEqual((await t.api("GET", path)).json.data, first);
  });

  test("delete removes the task and its history", async () => {
    const task = (await t.api("POST", "/api/scheduler/tasks", fnTask)).json.data;
    const id = (await t.api("POST", `/api/scheduler/tasks/${task.id}/trigger`)).json.data.executionId;
    await eventually(
      async () => (await t.api("GET", `/api/scheduler/executions/${id}`)).json.data?.status === "success",
    );
    const del = await t.api("DELETE", `/api/scheduler/tasks/${task.id}`);
    assert.equal(del.status, 200);
    assert.equal(del.json.data, null);
    assert.equal((await t.api("GET", `/api/scheduler/tasks/${task.id}`)).status, 404);
    assert.equal((await t.api("GET", `/api/scheduler/executions/${id}`)).status, 404);
    assert.equal((await t.api("DELETE", `/api/scheduler/tasks/${task.id}`)).status, 404);
  });
});

describe("executions, stats, preview, health", () => {
  test("stats", async () => {
    const res = await t.api("GET", "/api/scheduler/stats");
    assert.equal(res.status, 200);
    for (const k of [
      "totalTasks",
      "enabledTasks",
      "last24hExecutions",
      "last24hFailures",
      "running",
      "queued",
      "scheduledJobs",
    ]) {
      assert.equal(typeof res.json.data[k], "number", k);
    }
  });

  test("cron preview gives the canonical form and the next runs, or the parser's error", async () => {
    const res = await t.api("POST", "/api/scheduler/cron/preview", {
      cronExpression: "@daily",
      timezone: "America/New_York",
      count: 3,
    });
    assert.equal(res.status, 200);
    assert.equal(res.json.data.canonical, "0 0 0 * * *");
    assert.equal(res.json.data.nextRuns.length, 3);
    assert.equal(res.json.data.nextRuns[1] - res.json.data.nextRuns[0] >= 23 * 3600e3, true);
    const bad = await t.api("POST", "/api/scheduler/cron/preview", { cronExpression: "* * 32 * *" });
    assert.equal(bad.status, 422);
    assert.equal(bad.json.data[0].field, "cronExpression");
    assert.match(bad.json.data[0].message, /day-of-month/);
    assert.equal(typeof bad.json.data[0].column, "number");
  });

  test("bad query parameters are named", async () => {
    for (const [path, name] of [
      ["/api/scheduler/executions?status=done", "status"],
      ["/api/scheduler/executions?page=0", "page"],
      ["/api/scheduler/tasks?pageSize=100000", "pageSize"],
      ["/api/scheduler/tasks?type=shell", "type"],
      ["/api/scheduler/tasks?enabled=maybe", "enabled"],
      ["/api/scheduler/tasks?page=1&page=2", "page"],
      ["/api/scheduler/tasks?search=x", "search"],
      ["/api/scheduler/stats?verbose=1", "verbose"],
    ]) {
      const res = await t.api("GET", path);
      assert.equal(res.status, 400, path);
      assert.equal(res.json.data[0].field, name, path);
    }
  });

  test("health and readiness", async () => {
    assert.equal((await t.api("GET", "/healthz")).status, 200);
    assert.equal((await t.api("GET", "/readyz")).json.data.status, "ready");
  });
});

describe("protocol errors", () => {
  test("malformed JSON is 400, wrong content type 415, a body over 1 MiB 413", async () => {
    const malformed = await t.api("POST", "/api/scheduler/tasks", '{"name":');
    assert.equal(malformed.status, 400);
    assert.match(malformed.json.message, /malformed JSON/);
    const text = await t.api("POST", "/api/scheduler/tasks", JSON.stringify(fnTask), {
      "content-type": "text/plain",
    });
    assert.equal(text.status, 415);
    const huge = await t.api(
      "POST",
      "/api/scheduler/tasks",
      JSON.stringify({ ...fnTask, name: "x".repeat(1 << 20) }),
    );
    assert.equal(huge.status, 413);
    const deep = await t.api("POST", "/api/scheduler/tasks", "[".repeat(10000) + "]".repeat(10000));
    assert.equal(deep.status, 400);
  });

  test("unknown id 404, unknown route 404, wrong method 405", async () => {
    assert.equal((await t.api("GET", "/api/scheduler/tasks/nope")).status, 404);
    assert.equal((await t.api("POST", "/api/scheduler/tasks/nope/trigger")).status, 404);
    assert.equal((await t.api("GET", "/api/scheduler/executions/nope")).status, 404);
    assert.equal((await t.api("GET", "/api/nothing")).status, 404);
    const wrong = await t.api("PATCH", "/api/scheduler/tasks");
    assert.equal(wrong.status, 405);
    assert.equal(wrong.json.code, 405);
    assert.equal(wrong.headers.get("allow"), "GET, POST");
  });
});
