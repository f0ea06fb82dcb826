// `cronkit backup PATH`: a copy of the SQLite database taken while the server writes to it,
// consistent, readable by its owner alone, and a database a server starts from.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { statSync } from "node:fs";
import { join } from "node:path";
import { defaultBinary, eventually, startServer } from "../support/harness.mjs";

function cronkit(args) {
  const r = spawnSync(defaultBinary(), args, {
    encoding: "utf8",
    env: { PATH: process.env.PATH, CRONKIT_CONFIG: "/dev/null" },
    timeout: 60000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const sql = (file, query) => execFileSync("sqlite3", [file, query], { encoding: "utf8" }).trim();

test("a backup taken while tasks fire is consistent, private, and a server starts from it", async () => {
  const server = await startServer();
  const db = join(server.dir, "cronkit.db");
  try {
    const created = await server.api("POST", "/api/scheduler/tasks", {
      name: "every second",
      cronExpression: "* * * * * *",
      type: "http",
      httpUrl: "http://127.0.0.1:9/unreachable",
    });
    assert.equal(created.status, 201, created.text);
    const id = created.json.data.id;
    // Executions are being written while the copy is taken.
    await eventually(
      async () => (await server.api("GET", `/api/scheduler/executions?taskId=${id}`)).json.data.total >= 2,
      15000,
    );

    const copy = join(server.dir, "backup.db");
    const r = cronkit(["backup", copy, "--db", `sqlite:${db}`]);
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      /^backed up sqlite:.* to .*backup\.db: \d+ bytes, 1 tasks, \d+ executions; integrity check ok\n$/,
    );
    assert.equal(statSync(copy).mode & 0o777, 0o600);
    assert.equal(sql(copy, "PRAGMA integrity_check"), "ok");
    assert.equal(sql(copy, `SELECT name FROM scheduled_tasks WHERE id = '${id}'`), "every second");
    const executions = Number(/(\d+) executions/.exec(r.out)[1]);
    assert.ok(executions >= 2, r.out);
    assert.equal(Number(sql(copy, "SELECT count(*) FROM task_execution_logs")), executions);

    // Never over an existing file.
    const again = cronkit(["backup", copy, "--db", `sqlite:${db}`]);
    assert.equal(again.code, 1);
    assert.match(again.err, /backup\.db: exists already: give a new file/);
    assert.equal(sql(copy, "PRAGMA integrity_check"), "ok");

    // A server runs from the copy, with the task in it.
    const restored = await startServer({ db: `sqlite:${copy}` });
    try {
      const task = await restored.api("GET", `/api/scheduler/tasks/${id}`);
      assert.equal(task.status, 200, task.text);
      assert.equal(task.json.data.task.name, "every second");
    } finally {
      await restored.stop();
    }
  } finally {
    await server.stop();
  }
});

test("a backup of what it cannot copy is refused, and leaves no file", () => {
  const pg = cronkit(["backup", "/tmp/never-written.db", "--db", "postgresql://cronkit@127.0.0.1:1/x"]);
  assert.equal(pg.code, 1);
  assert.match(pg.err, /back PostgreSQL up with pg_dump/);
  const missing = cronkit(["backup", "/tmp/never-written.db", "--db", "sqlite:/nonexistent/cronkit.db"]);
  assert.equal(missing.code, 1);
  assert.match(missing.err, /no SQLite database at '\/nonexistent\/cronkit\.db'/);
  assert.throws(() => statSync("/tmp/never-written.db"));
  const usage = cronkit(["backup"]);
  assert.equal(usage.code, 2);
  assert.match(usage.err, /PATH is required/);
});
