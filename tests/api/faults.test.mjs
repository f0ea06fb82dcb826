// Faults under load: the disk fills while tasks run, and HTTP targets that reset, stall or
// answer 10 MB. The server stays up, says it is not ready while it cannot write, records
// nothing half-written, loses no firing, and recovers when space returns; executions whose
// target misbehaves end cleanly within their timeout, with memory bounded.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { client, eventually, serverForFile, sleep, startReceiver, startServer } from "./server.mjs";

describe("the disk fills while tasks run", () => {
  // The database lives on a 6 MiB tmpfs in a mount namespace of the server's own; the test
  // enters that namespace to fill the file system and to free it again.
  const mnt = mkdtempSync(join(tmpdir(), "cronkit-small-disk-"));
  const out = mkdtempSync(join(tmpdir(), "cronkit-small-disk-copy-"));
  let server;
  let api;
  const inside = (...command) =>
    execFileSync("nsenter", ["-t", String(server.pid), "-m", ...command], { encoding: "utf8" });

  before(async () => {
    server = await startServer({
      db: `sqlite:${mnt}/cronkit.db`,
      args: ["--max-concurrency", "50"],
      wrap: [
        "unshare",
        "-m",
        "--propagation",
        "private",
        "sh",
        "-c",
        `mount -t tmpfs -o size=6m cronkit-test ${mnt} && exec "$0" "$@"`,
      ],
    });
    api = client(server.base);
  });
  after(async () => {
    await server?.stop();
    rmSync(mnt, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  });

  test("not ready while full, nothing half-written, no firing lost, recovers", async () => {
    assert.match(inside("df", "-k", mnt), /cronkit-test/);
    const tasks = [];
    for (let i = 0; i < 20; i++) {
      const res = await api("POST", "/api/scheduler/tasks", {
        name: `every second ${i}`,
        cronExpression: "* * * * * *",
        type: "function",
        functionName: "cleanup-logs",
      });
      assert.equal(res.status, 201);
      tasks.push(res.json.data.id);
    }
    await sleep(2500);
    assert.equal((await api("GET", "/readyz")).status, 200);

    // Fill every byte that is left.
    const fullAt = Date.now();
    execFileSync("nsenter", [
      "-t",
      String(server.pid),
      "-m",
      "sh",
      "-c",
      `dd if=/dev/zero of=${mnt}/filler bs=4k 2>/dev/null; true`,
    ]);
    const notReady = await eventually(async () => {
      const res = await api("GET", "/readyz");
      return res.status === 503 ? res : undefined;
    }, 10000);
    assert.match(notReady.json.message, /cannot be written/);
    assert.match(notReady.json.message, /full/i);
    for (let i = 0; i < 10; i++) {
      assert.equal((await api("GET", "/healthz")).status, 200, "the server stays up");
      const created = await api("POST", "/api/scheduler/tasks", {
        name: "while full",
        cronExpression: "@yearly",
        type: "function",
        functionName: "cleanup-logs",
      });
      assert.ok([201, 503].includes(created.status), `create while full: ${created.status} ${created.text}`);
      if (created.status === 503) assert.match(created.json.message, /database/);
      assert.equal((await api("GET", "/api/scheduler/tasks")).status, 200, "reads still work");
      await sleep(300);
    }

    // Space returns.
    inside("rm", `${mnt}/filler`);
    const freedAt = Date.now();
    await eventually(async () => (await api("GET", "/readyz")).status === 200, 10000);
    const resumed = (await api("GET", "/api/scheduler/stats")).json.data;
    await sleep(2000);
    const later = (await api("GET", "/api/scheduler/stats")).json.data;
    assert.ok(later.last24hExecutions > resumed.last24hExecutions, "executions go on");

    // A consistent copy of the database, taken by SQLite itself.
    inside("sqlite3", `${mnt}/cronkit.db`, `.backup ${out}/copy.db`);
    const query = (sql) =>
      execFileSync("sqlite3", ["-readonly", join(out, "copy.db"), sql], { encoding: "utf8" }).trim();
    assert.equal(query("PRAGMA integrity_check"), "ok");
    assert.equal(
      query(
        "SELECT count(*) FROM task_execution_logs WHERE status IN ('success','failed','timed_out','skipped') AND finished_at IS NULL",
      ),
      "0",
      "a finished record without its end",
    );
    assert.equal(
      query(
        "SELECT count(*) FROM task_execution_logs WHERE status IN ('running','success','failed','timed_out') AND started_at IS NULL",
      ),
      "0",
      "a started record without its start",
    );
    // Every second of every task, from its first record to its last, which span the time the
    // disk was full, has a record: the firings of that time were kept and written afterwards.
    const rows = query(
      "SELECT task_id, min(scheduled_for), max(scheduled_for), count(*) FROM task_execution_logs WHERE task_id IN (" +
        tasks.map((id) => `'${id}'`).join(",") +
        ") AND \"trigger\" = 'schedule' GROUP BY task_id",
    );
    const lines = rows.split("\n");
    assert.equal(lines.length, tasks.length);
    for (const line of lines) {
      const [, first, last, count] = line.split("|").map(Number);
      assert.equal(count, (last - first) / 1000 + 1, `a task has gaps: ${line}`);
      assert.ok(first < fullAt - 1000 && last > freedAt, `${line}: ${fullAt} ${freedAt}`);
    }
  });
});

describe("a database that cannot be written at start", () => {
  test("the server refuses to start and says why", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cronkit-readonly-"));
    try {
      const made = await startServer({ db: `sqlite:${dir}/cronkit.db` });
      await made.stop();
      // The directory, read-only in the server's mount namespace.
      const script = `mount --bind ${dir} ${dir} && mount -o remount,bind,ro ${dir} && exec "$0" "$@"`;
      await assert.rejects(
        startServer({
          db: `sqlite:${dir}/cronkit.db`,
          wrap: ["unshare", "-m", "--propagation", "private", "sh", "-c", script],
        }),
        (e) => /exited with 1/.test(e.message) && /read-?only/i.test(e.message),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("HTTP targets that misbehave", () => {
  const t = serverForFile({ args: ["--max-concurrency", "40"] });
  // /reset: the connection is destroyed; /stall-body: headers and 10 of 1,000 bytes, then
  // nothing; /stall: no answer at all; /drip: a byte every 50 ms, forever; /flood: bytes as
  // fast as they go, forever; /big: 10 MB.
  let target;
  before(async () => {
    const big = Buffer.alloc(10 << 20, "x");
    const chunk = Buffer.alloc(64 << 10, "y");
    target = await startReceiver({
      respond(req, res) {
        const path = new URL(req.url, "http://x").pathname;
        if (path === "/reset") return req.socket.destroy();
        if (path === "/stall-body") {
          res.writeHead(200, { "content-length": 1000 });
          return res.write("0123456789");
        }
        if (path === "/stall") return;
        if (path === "/drip") {
          res.writeHead(200);
          const timer = setInterval(() => res.write("d"), 50);
          return res.on("close", () => clearInterval(timer));
        }
        if (path === "/flood") {
          res.writeHead(200);
          const more = () => {
            while (res.write(chunk));
          };
          res.on("drain", more);
          return more();
        }
        res.writeHead(200, { "content-length": big.length });
        res.end(big);
      },
    });
  });
  after(() => target.close());

  async function run(path, timeoutSeconds, n = 1) {
    const task = (
      await t.api("POST", "/api/scheduler/tasks", {
        name: path,
        cronExpression: "0 0 1 1 *",
        type: "http",
        httpUrl: target.url(path),
        timeoutSeconds,
      })
    ).json.data;
    const ids = [];
    for (let i = 0; i < n; i++)
      ids.push((await t.api("POST", `/api/scheduler/tasks/${task.id}/trigger`)).json.data.executionId);
    const done = [];
    for (const id of ids) {
      done.push(
        await eventually(
          async () => {
            const e = (await t.api("GET", `/api/scheduler/executions/${id}`)).json.data;
            return ["success", "failed", "timed_out"].includes(e.status) ? e : undefined;
          },
          (timeoutSeconds + 10) * 1000,
        ),
      );
    }
    return done;
  }

  // Peak resident memory of the server so far, in KiB.
  const peakKiB = () =>
    Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${t.server.pid}/status`, "utf8"))[1]);

  test("a reset connection fails the execution at once", async () => {
    const [e] = await run("/reset", 5);
    assert.equal(e.status, "failed");
    assert.ok(e.durationMs < 2000, `${e.durationMs} ms`);
    assert.ok(e.errorMessage.length > 0);
  });

  for (const path of ["/stall-body", "/stall", "/drip", "/flood"]) {
    test(`${path}: timed out at its timeout`, async () => {
      const [e] = await run(path, 2);
      assert.equal(e.status, "timed_out", JSON.stringify(e));
      assert.ok(e.durationMs >= 1900 && e.durationMs < 3500, `${e.durationMs} ms`);
      assert.ok((e.output ?? "").length <= 4096);
    });
  }

  test("twenty 10 MB answers at once: each kept to 4 KiB, memory bounded", async () => {
    const before = peakKiB();
    const done = await run("/big", 30, 20);
    for (const e of done) {
      assert.equal(e.status, "success", JSON.stringify(e).slice(0, 300));
      assert.equal(e.output.length, 4096);
    }
    // 200 MB went through; the server's peak grew by far less than one answer's size.
    const grown = peakKiB() - before;
    assert.ok(grown < 10 * 1024, `peak resident memory grew by ${grown} KiB`);
  });
});
