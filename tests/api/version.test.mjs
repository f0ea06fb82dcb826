// The server says which build it is: `cronkit --version`, /healthz and /metrics agree with
// the project's version (CMakeLists.txt) and the commit of this checkout.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { serverForFile } from "./server.mjs";
import { defaultBinary, root } from "../support/harness.mjs";

const t = serverForFile();

const version = /project\(cronkit VERSION (\d+\.\d+\.\d+)/.exec(
  readFileSync(join(root, "CMakeLists.txt"), "utf8"),
)[1];
// The commit the binary was built from: this checkout's HEAD, with "-dirty" if the checkout
// had changes when it was built (which a later commit or checkout may have changed since).
const head = execFileSync("git", ["-C", root, "rev-parse", "--short=12", "HEAD"], {
  encoding: "utf8",
}).trim();
const commit = /^(?<head>[0-9a-f]{12})(-dirty)?$/;

test("--version prints the version and the commit, and exits 0", () => {
  const out = execFileSync(defaultBinary(), ["--version"], { encoding: "utf8" });
  const printed = /^cronkit (\S+) \(commit (\S+)\)\n$/.exec(out);
  assert.ok(printed, out);
  assert.equal(printed[1], version);
  assert.equal(commit.exec(printed[2])?.groups.head, head, out);
});

test("/healthz and /metrics name the same build", async () => {
  const health = await t.api("GET", "/healthz");
  assert.equal(health.status, 200);
  const { commit: built, ...rest } = health.json.data;
  assert.deepEqual(rest, { status: "ok", version });
  assert.equal(commit.exec(built)?.groups.head, head, built);
  const printed = execFileSync(defaultBinary(), ["--version"], { encoding: "utf8" });
  assert.equal(printed, `cronkit ${version} (commit ${built})\n`);

  const metrics = await t.api("GET", "/metrics");
  assert.equal(metrics.status, 200);
  assert.ok(metrics.text.includes("# TYPE cronkit_build_info gauge\n"), metrics.text);
  assert.ok(
    metrics.text.includes(`\ncronkit_build_info{version="${version}",commit="${built}"} 1\n`),
    metrics.text,
  );
});
