// A command task on two servers sharing one PostgreSQL database: every instant's program
// runs once, on one server or the other, as for any other task type.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Node, drained, eventually, executions, postgres } from "./cluster.mjs";

const work = mkdtempSync(join(tmpdir(), "cronkit-cluster-commands-"));
const pgState = join(work, "postgres.url");
const ran = join(work, "ran");
let dbUrl;
let nodes = [];

before(async () => {
  dbUrl = postgres("start", pgState);
  nodes = ["left", "right"].map(
    (name) =>
      new Node(name, dbUrl, [
        "--allow-commands",
        "--insecure",
        "--state-dir",
        join(work, name),
        "--shutdown-grace",
        "0",
      ]),
  );
  for (const n of nodes) await n.start();
});

after(async () => {
  for (const n of nodes) await n.stop("SIGKILL");
  postgres("stop", pgState);
  rmSync(work, { recursive: true, force: true });
});

test("each instant of a command task runs once across the servers", async () => {
  const { status, json } = await nodes[0].api("POST", "/api/scheduler/tasks", {
    name: "stamp",
    cronExpression: "* * * * * *",
    type: "command",
    command: ["/bin/sh", "-c", `echo "$CRONKIT_SCHEDULED_FOR $CRONKIT_EXECUTION_ID" >> ${ran}`],
  });
  assert.equal(status, 201, JSON.stringify(json));
  const lines = () => {
    try {
      return readFileSync(ran, "utf8").split("\n").filter(Boolean);
    } catch {
      return [];
    }
  };
  await eventually(() => lines().length >= 8, 30000, "eight runs", 100);
  assert.equal(
    (await nodes[1].api("POST", `/api/scheduler/tasks/${json.data.id}/toggle`, { enabled: false })).status,
    200,
  );
  assert.equal(await drained(dbUrl), 0);

  const runs = lines().map((l) => l.split(" "));
  const instants = runs.map(([at]) => at);
  assert.equal(new Set(instants).size, instants.length, `an instant ran twice: ${instants}`);
  const stored = executions(dbUrl).filter((e) => e.taskId === json.data.id);
  const succeeded = stored.filter((e) => e.status === "success");
  assert.equal(succeeded.length, runs.length, "every run stored as a success, and only those");
  const byId = new Map(succeeded.map((e) => [e.id, e]));
  for (const [at, id] of runs) {
    assert.ok(byId.has(id), `execution ${id} of ${at} is stored`);
    assert.equal(new Date(byId.get(id).at).toISOString().replace(".000", ""), at);
  }
});
