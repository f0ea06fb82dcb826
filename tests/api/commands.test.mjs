// Command tasks through the real binary: allowed only when the server says so, run with
// their environment, retried, timed out and replaced with their whole process group, and
// nothing left running after a shutdown or after the server is killed.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { client, defaultBinary, eventually, Server, startServer } from "../support/harness.mjs";

const token = "command-test-token";
const auth = { authorization: `Bearer ${token}` };
const far = "0 0 1 1 *"; // a schedule that does not fire during a test

function authed(base) {
  const call = client(base);
  return (method, path, body) => call(method, path, body, auth);
}

// A process that has exited: gone, or a zombie nobody reaped yet.
function gone(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

// The pids a program wrote to `file`, one per line, once there are `n`.
async function pidsIn(file, n) {
  return eventually(
    () => {
      if (!existsSync(file)) return undefined;
      const pids = readFileSync(file, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((line) => Number(line.split(" ").pop()));
      return pids.length >= n ? pids : undefined;
    },
    20000,
    `${n} pids in ${file}`,
  );
}

async function finished(api, executionId, timeoutMs = 20000) {
  return eventually(
    async () => {
      const e = (await api("GET", `/api/scheduler/executions/${executionId}`)).json.data;
      return ["success", "failed", "timed_out", "skipped"].includes(e.status) ? e : undefined;
    },
    timeoutMs,
    `execution ${executionId} to finish`,
  );
}

async function create(api, fields) {
  const res = await api("POST", "/api/scheduler/tasks", {
    name: "command",
    cronExpression: far,
    type: "command",
    ...fields,
  });
  assert.equal(res.status, 201, res.text);
  return res.json.data;
}

async function run(api, task) {
  const res = await api("POST", `/api/scheduler/tasks/${task.id}/trigger`);
  assert.equal(res.status, 202, res.text);
  return finished(api, res.json.data.executionId);
}

describe("a server that does not allow commands", () => {
  let server;
  let api;
  before(async () => {
    server = await startServer();
    api = client(server.base);
  });
  after(() => server.stop());

  test("refuses to create a command task, or to make one, and says how to allow them", async () => {
    const created = await api("POST", "/api/scheduler/tasks", {
      name: "c",
      cronExpression: far,
      type: "command",
      command: ["true"],
    });
    assert.equal(created.status, 422);
    assert.deepEqual(created.json.data, [
      {
        field: "type",
        message:
          "command tasks are off on this server: start it with --allow-commands " +
          "(CRONKIT_ALLOW_COMMANDS=1) to create them",
      },
    ]);
    const f = await api("POST", "/api/scheduler/tasks", {
      name: "f",
      cronExpression: far,
      type: "function",
      functionName: "cleanup-logs",
    });
    const switched = await api("PUT", `/api/scheduler/tasks/${f.json.data.id}`, {
      type: "command",
      command: ["true"],
    });
    assert.equal(switched.status, 422);
    assert.equal(switched.json.data[0].field, "type");
    const list = (await api("GET", "/api/scheduler/tasks?type=command")).json.data;
    assert.equal(list.total, 0, "nothing was written");
  });
});

describe("the token rule", () => {
  test("a server allowing commands needs a token, even on loopback, unless --insecure", async () => {
    const refused = spawnSync(
      defaultBinary(),
      ["serve", "--port", "0", "--db", "sqlite::memory:", "--allow-commands"],
      { encoding: "utf8", timeout: 10000 },
    );
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /refusing to allow command tasks without --api-token/);
    const insecure = await startServer({ args: ["--allow-commands", "--insecure"] });
    await insecure.stop();
    const unknown = spawnSync(
      defaultBinary(),
      ["serve", "--port", "0", "--db", "sqlite::memory:", "--command-user", "no-such-user-here"],
      { encoding: "utf8", timeout: 10000 },
    );
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /--command-user no-such-user-here: no such user/);
  });
});

describe("a server that allows commands", () => {
  let server;
  let api;
  let dir;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "cronkit-commands-"));
    server = await startServer({
      args: ["--allow-commands", "--api-token", token, "--command-kill-grace", "1", "--shutdown-grace", "0"],
      env: { CRONKIT_SECRET_OF_THE_SERVER: "do-not-pass-on" },
    });
    api = authed(server.base);
  });
  after(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("runs the program with its environment, input and directory, and keeps its output", async () => {
    const task = await create(api, {
      name: "env check",
      command: ["/bin/sh", "-c", 'env | sort; pwd; echo "input: $(cat)"'],
      environment: { GREETING: "hello world" },
      workingDirectory: dir,
      commandInput: "from stdin",
    });
    assert.deepEqual(task.command, ["/bin/sh", "-c", 'env | sort; pwd; echo "input: $(cat)"']);
    assert.deepEqual(task.environment, { GREETING: "hello world" });
    const e = await run(api, task);
    assert.equal(e.status, "success", e.errorMessage);
    assert.equal(e.resultSummary, "exit 0");
    const lines = e.output.split("\n");
    assert.ok(lines.includes("GREETING=hello world"));
    assert.ok(lines.includes(`CRONKIT_TASK_ID=${task.id}`));
    assert.ok(lines.includes("CRONKIT_TASK_NAME=env check"));
    assert.ok(lines.includes(`CRONKIT_EXECUTION_ID=${e.id}`));
    assert.ok(lines.includes("CRONKIT_ATTEMPT=1"));
    assert.ok(lines.some((l) => /^CRONKIT_SCHEDULED_FOR=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(l)));
    assert.ok(lines.includes(dir));
    assert.ok(lines.includes("input: from stdin"));
    assert.ok(!e.output.includes("do-not-pass-on"), "the server's environment stays its own");
    assert.ok(!e.output.includes(token));
    // The history shows neither the environment nor the input in the log.
    assert.ok(!server.log().includes("hello world"));
    assert.ok(!server.log().includes("from stdin"));
  });

  test("a failing program is retried and ends with its exit status", async () => {
    const task = await create(api, {
      command: ["/bin/sh", "-c", 'echo "try $CRONKIT_ATTEMPT"; exit 3'],
      maxRetries: 1,
      retryDelaySeconds: 1,
    });
    const e = await run(api, task);
    assert.equal(e.status, "failed");
    assert.equal(e.attempts, 2);
    assert.equal(e.errorMessage, "exit 3");
    assert.equal(e.output, "try 2\n");
  });

  test("a program that is not there fails at once, without retries", async () => {
    const task = await create(api, {
      command: ["no-such-program-for-cronkit"],
      maxRetries: 5,
      retryDelaySeconds: 1,
    });
    const e = await run(api, task);
    assert.equal(e.status, "failed");
    assert.equal(e.attempts, 1);
    assert.match(e.errorMessage, /^program not found: no-such-program-for-cronkit is not in PATH/);
  });

  test("a hundred megabytes of output are kept as their head and tail", async () => {
    const task = await create(api, {
      command: ["/bin/sh", "-c", "echo FIRST; head -c 104857600 /dev/zero | tr '\\0' x; echo; echo LAST"],
    });
    const e = await run(api, task);
    assert.equal(e.status, "success", e.errorMessage);
    assert.ok(e.output.startsWith("FIRST\nxxx"));
    assert.ok(e.output.endsWith("xxx\nLAST\n"));
    assert.match(e.output, /\n\[\.\.\. 104849420 bytes cut \.\.\.\]\n/);
    assert.ok(e.output.length < 8300);
  });

  test("at its timeout the whole group ends, even what ignores SIGTERM", async () => {
    const pids = join(dir, "timeout.pids");
    const task = await create(api, {
      command: [
        "/bin/sh",
        "-c",
        `trap '' TERM; sh -c 'trap "" TERM; echo $$ >> ${pids}; while :; do sleep 1; done' & echo $$ >> ${pids}; wait`,
      ],
      timeoutSeconds: 1,
    });
    const trigger = await api("POST", `/api/scheduler/tasks/${task.id}/trigger`);
    const [a, b] = await pidsIn(pids, 2);
    const e = await finished(api, trigger.json.data.executionId);
    assert.equal(e.status, "timed_out");
    assert.equal(e.errorMessage, "timed out after 1 s");
    await eventually(() => gone(a) && gone(b), 20000, "the program and its child to end");
  });

  test("replace ends the running program's group before the next starts", async () => {
    const pids = join(dir, "replace.pids");
    const task = await create(api, {
      command: ["/bin/sh", "-c", `echo $$ >> ${pids}; sleep 1000 & wait`],
      overlapPolicy: "replace",
    });
    const first = await api("POST", `/api/scheduler/tasks/${task.id}/trigger`);
    const [firstPid] = await pidsIn(pids, 1);
    const second = await api("POST", `/api/scheduler/tasks/${task.id}/trigger`);
    const replaced = await finished(api, first.json.data.executionId);
    assert.equal(replaced.status, "failed");
    assert.equal(replaced.errorMessage, `replaced by execution ${second.json.data.executionId}`);
    await eventually(() => gone(firstPid), 20000, "the replaced program to end");
    const [, secondPid] = await pidsIn(pids, 2);
    assert.ok(!gone(secondPid), "the new one runs");
  });
});

describe("the server's end", () => {
  test("a shutdown ends running programs; a killed server's are ended at its next start", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cronkit-commands-end-"));
    const db = `sqlite:${join(dir, "cronkit.db")}`;
    const args = [
      "--allow-commands",
      "--api-token",
      token,
      "--shutdown-grace",
      "0",
      "--command-kill-grace",
      "1",
    ];
    try {
      let server = new Server({ db, args });
      await server.start();
      let api = authed(server.base);
      const pids = join(dir, "pids");
      // Lines "leader PID" (the program) and "child PID" (what it started).
      const task = await create(api, {
        command: [
          "/bin/sh",
          "-c",
          `trap '' TERM; sh -c 'trap "" TERM; echo child $$ >> ${pids}; while :; do sleep 1; done' & echo leader $$ >> ${pids}; wait`,
        ],
      });
      const roles = async () => {
        await pidsIn(pids, 2);
        const found = {};
        for (const line of readFileSync(pids, "utf8").split("\n").filter(Boolean)) {
          const [role, pid] = line.split(" ");
          found[role] = Number(pid);
        }
        return found;
      };
      await api("POST", `/api/scheduler/tasks/${task.id}/trigger`);
      const { leader: a, child: b } = await roles();
      await server.stop(); // SIGTERM: stop() returns once the server has exited cleanly
      assert.ok(gone(a) && gone(b), "nothing left after a shutdown");

      // Killed: its program dies with it (PR_SET_PDEATHSIG); what that one started is
      // ended when a server starts again on the same state directory.
      rmSync(pids);
      server = new Server({ db, args });
      await server.start();
      api = authed(server.base);
      await api("POST", `/api/scheduler/tasks/${task.id}/trigger`);
      const { leader, child } = await roles();
      await server.stop("SIGKILL");
      await eventually(() => gone(leader), 20000, "the program to die with the server");
      assert.ok(!gone(child), "what it started outlives it, until a server starts again");
      await server.start();
      await eventually(() => gone(child), 20000, "the killed server's leftover to be ended");
      await server.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("a stored command task on a server that no longer allows commands", () => {
  test("fails when it comes due, saying why", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cronkit-commands-off-"));
    const db = `sqlite:${join(dir, "cronkit.db")}`;
    try {
      const allowing = await startServer({ db, args: ["--allow-commands", "--insecure"] });
      const task = await create(client(allowing.base), { command: ["true"] });
      await allowing.stop();
      const off = await startServer({ db });
      const api = client(off.base);
      const e = await run(api, task);
      assert.equal(e.status, "failed");
      assert.equal(
        e.errorMessage,
        "command tasks are off on this server: start it with --allow-commands " +
          "(CRONKIT_ALLOW_COMMANDS=1) to run them",
      );
      await off.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
