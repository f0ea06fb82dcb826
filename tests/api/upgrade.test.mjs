// A database made by the first released schema (tests/fixtures/schema-0001.db, frozen; see
// make-upgrade-fixture.mjs) is opened by this binary: migrated, by `cronkit migrate` or by
// `serve` itself, with every task and execution kept exactly as it was.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { client, startServer } from "./server.mjs";

const root = resolve(new URL("../..", import.meta.url).pathname);
const binary = process.env.CRONKIT_BIN ?? join(root, "build/cronkit");
const fixture = join(root, "tests/fixtures/schema-0001.db");
const expected = JSON.parse(readFileSync(join(root, "tests/fixtures/schema-0001.json"), "utf8"));

// Fields tasks gained after the first schema, as a task from before them has them.
const gained = {
  command: null,
  workingDirectory: null,
  environment: null,
  commandInput: null,
  retryBackoff: "fixed",
  retryMaxDelaySeconds: 3600,
  pausedNote: null,
  pausedAt: null,
  startAt: null,
  endAt: null,
  jitterSeconds: 0,
  maxRuns: null,
  runCount: 0,
  pauseAfterFailures: null,
  notifications: [],
  tags: [],
};

// `added`: tasks an earlier check created.
async function checkKept(db, added = 0) {
  const server = await startServer({ db: `sqlite:${db}` });
  try {
    const api = client(server.base);
    const list = (await api("GET", "/api/scheduler/tasks?pageSize=100")).json.data;
    assert.equal(list.total, expected.tasks.length + added);
    for (const task of expected.tasks) {
      const res = await api("GET", `/api/scheduler/tasks/${task.id}`);
      assert.equal(res.status, 200, task.name);
      // A task that caught up keeps doing so: catchUp became catchUpPolicy "latest".
      const policy = { catchUpPolicy: task.catchUp ? "latest" : "none", catchUpWindowSeconds: 86400 };
      assert.deepEqual(res.json.data.task, { ...task, ...gained, ...policy });
    }
    const history = (await api("GET", "/api/scheduler/executions?pageSize=100")).json.data;
    assert.equal(history.total, expected.executions.length);
    for (const e of expected.executions) {
      assert.deepEqual((await api("GET", `/api/scheduler/executions/${e.id}`)).json.data, e);
    }
    // And it takes new work.
    const created = await api("POST", "/api/scheduler/tasks", {
      name: "after the upgrade",
      cronExpression: "@daily",
      type: "function",
      functionName: "cleanup-logs",
    });
    assert.equal(created.status, 201);
  } finally {
    await server.stop();
  }
}

test("cronkit migrate upgrades the first schema and keeps every record", async () => {
  const dir = mkdtempSync(join(tmpdir(), "cronkit-upgrade-"));
  try {
    const db = join(dir, "cronkit.db");
    copyFileSync(fixture, db);
    const migrated = spawnSync(binary, ["migrate", "--db", `sqlite:${db}`], { encoding: "utf8" });
    assert.equal(migrated.status, 0, migrated.stderr);
    assert.match(migrated.stdout, /schema version \d+/);
    const again = spawnSync(binary, ["migrate", "--db", `sqlite:${db}`], { encoding: "utf8" });
    assert.match(again.stdout, /\(up to date\)/);
    await checkKept(db);
    // The tasks' table was made again (0002): the executions still belong to it, and
    // deleting a task still takes its history with it.
    const check = spawnSync("sqlite3", [db, "PRAGMA foreign_key_check"], { encoding: "utf8" });
    assert.equal(check.status, 0, check.stderr);
    assert.equal(check.stdout.trim(), "");
    const owner = expected.executions[0].taskId;
    const server = await startServer({ db: `sqlite:${db}` });
    try {
      const api = client(server.base);
      assert.equal((await api("DELETE", `/api/scheduler/tasks/${owner}`)).status, 200);
      const left = (await api("GET", `/api/scheduler/executions?taskId=${owner}`)).json.data;
      assert.equal(left.total, 0);
    } finally {
      await server.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("serve opens the first schema directly and keeps every record", async () => {
  const dir = mkdtempSync(join(tmpdir(), "cronkit-upgrade-"));
  try {
    const db = join(dir, "cronkit.db");
    copyFileSync(fixture, db);
    await checkKept(db);
    await checkKept(db, 1); // and again, after a restart
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
