// Where the server listens, and how many connections it keeps.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startServer } from "./server.mjs";

const binary = process.env.CRONKIT_BIN ?? resolve(new URL("../../build/cronkit", import.meta.url).pathname);

test("a non-loopback address needs a token or --insecure", async () => {
  const dir = mkdtempSync(join(tmpdir(), "cronkit-host-"));
  try {
    const refused = spawnSync(
      binary,
      ["serve", "--host", "0.0.0.0", "--port", "0", "--db", `sqlite:${join(dir, "a.db")}`],
      {
        encoding: "utf8",
        timeout: 10000,
      },
    );
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /refusing to listen on 0\.0\.0\.0 without --api-token/);
    assert.match(refused.stderr, /--insecure/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  for (const args of [["--insecure"], ["--api-token", "t"]]) {
    const server = await startServer({ args: ["--host", "0.0.0.0", ...args] });
    assert.match(server.log(), /listening on http:\/\/0\.0\.0\.0:\d+/);
    await server.stop();
  }
});

// Opens a connection and resolves with whether the server closed it unasked within 500 ms.
function closedByServer(port) {
  return new Promise((done) => {
    const socket = connect(port, "127.0.0.1");
    const timer = setTimeout(() => done({ closed: false, socket }), 500);
    socket.on("close", () => {
      clearTimeout(timer);
      done({ closed: true, socket });
    });
    socket.on("error", () => {});
  });
}

test("connections beyond --max-connections are closed, the others served", async () => {
  const server = await startServer({ args: ["--max-connections", "2"] });
  const port = Number(new URL(server.base).port);
  const a = await closedByServer(port);
  const b = await closedByServer(port);
  assert.equal(a.closed, false);
  assert.equal(b.closed, false);
  const c = await closedByServer(port);
  assert.equal(c.closed, true, "the third is closed at once");
  a.socket.destroy();
  await new Promise((r) => setTimeout(r, 100));
  const res = await fetch(server.base + "/healthz", { headers: { connection: "close" } });
  assert.equal(res.status, 200);
  b.socket.destroy();
  await server.stop();
});
