// Under systemd (Type=notify): the server says READY=1 once it is ready, WATCHDOG=1 from
// the scheduler's loop at half the watchdog's interval, and STOPPING=1 when asked to stop —
// over a NOTIFY_SOCKET this test listens on, as systemd would.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { eventually, root, startServer } from "../support/harness.mjs";

// The listener: the messages received, in order.
async function listen() {
  const path = join(mkdtempSync(join(tmpdir(), "cronkit-notify-")), "notify.sock");
  const child = spawn("python3", [join(root, "tests/support/notify_listener.py"), path], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const messages = [];
  const lines = createInterface({ input: child.stdout });
  await new Promise((resolve) => lines.once("line", resolve)); // "listening"
  lines.on("line", (line) => messages.push({ line }));
  return { path, messages, close: () => child.kill() };
}

test("READY=1 once it serves, WATCHDOG=1 from the scheduler, STOPPING=1 at SIGTERM", async () => {
  const systemd = await listen();
  try {
    const server = await startServer({
      env: { NOTIFY_SOCKET: systemd.path, WATCHDOG_USEC: "400000" },
    });
    try {
      const ready = await eventually(
        () => systemd.messages.find((m) => m.line.startsWith("READY=1")),
        10000,
        "READY=1",
      );
      assert.match(
        ready.line,
        /^READY=1 \| STATUS=scheduling 0 tasks; listening on http:\/\/127\.0\.0\.1:\d+$/,
      );
      assert.ok(ready.line.endsWith(new URL(server.base).port), ready.line);
      // Ready means ready: the database answers and the API listens.
      assert.equal((await server.api("GET", "/readyz")).status, 200);

      // Every 200 ms (half of 400 ms), from the scheduler's loop: five of them come well
      // within the 10 s allowed for a busy machine.
      await eventually(
        () => systemd.messages.filter((m) => m.line === "WATCHDOG=1").length >= 5,
        10000,
        "five WATCHDOG=1",
      );
    } finally {
      await server.stop();
    }
    await eventually(
      () => systemd.messages.some((m) => m.line.startsWith("STOPPING=1")),
      10000,
      "STOPPING=1",
    );
  } finally {
    systemd.close();
  }
});

test("without NOTIFY_SOCKET it tells nobody and serves all the same", async () => {
  const server = await startServer({ env: { WATCHDOG_USEC: "400000" } });
  try {
    assert.equal((await server.api("GET", "/readyz")).status, 200);
  } finally {
    await server.stop();
  }
});
