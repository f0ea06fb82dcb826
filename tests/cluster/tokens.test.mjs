// Named tokens on two servers sharing one PostgreSQL database: a token made through one
// server is taken by the other at once, and one revoked through one server is refused by
// the other within a second; the audit trail holds what either server recorded.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Node, eventually, postgres } from "./cluster.mjs";

const BOOT = "cluster-bootstrap-token-0123456789";
const work = mkdtempSync(join(tmpdir(), "cronkit-cluster-tokens-"));
const pgState = join(work, "postgres.url");
let nodes = [];

before(async () => {
  const dbUrl = postgres("start", pgState);
  nodes = ["t1", "t2"].map((name) => new Node(name, dbUrl, ["--api-token", BOOT]));
  await Promise.all(nodes.map((n) => n.start()));
});

after(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  postgres("stop", pgState);
  rmSync(work, { recursive: true, force: true });
});

const as = (token) => ({ authorization: `Bearer ${token}` });
const me = async (node, token) => (await node.api("GET", "/api/scheduler/me", undefined, as(token))).status;

test("a token revoked through one server is refused by the other within a second", async () => {
  const [a, b] = nodes;
  const created = await a.api("POST", "/api/scheduler/tokens", { name: "ci", role: "operator" }, as(BOOT));
  assert.equal(created.status, 201, created.text);
  const { id, token } = created.json.data;
  assert.equal(await me(b, token), 200, "the other server takes a new token at once");
  assert.equal(await me(a, token), 200);

  const revoked = await a.api("DELETE", `/api/scheduler/tokens/${id}`, undefined, as(BOOT));
  assert.equal(revoked.status, 200);
  const answered = Date.now();
  assert.equal(await me(a, token), 401, "refused at once where it was revoked");
  await eventually(async () => (await me(b, token)) === 401, 5000, "the other server to refuse it", 20);
  const seenAfter = Date.now() - answered;
  // Whatever this machine's speed: a request that reaches the other server a second after
  // the revocation committed finds it.
  const wait = answered + 1000 - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  assert.equal(await me(b, token), 401);
  const res = await b.api("GET", "/api/scheduler/tasks", undefined, as(token));
  assert.equal(res.json.message, 'token "ci" was revoked');
  console.log(`the other server refused the revoked token ${seenAfter} ms after the revocation answered`);
});

test("the audit trail holds what each server recorded, read from either", async () => {
  const [a, b] = nodes;
  const task = await a.api(
    "POST",
    "/api/scheduler/tasks",
    { name: "audited on a", cronExpression: "0 0 1 1 *", type: "function", functionName: "cleanup-logs" },
    as(BOOT),
  );
  assert.equal(task.status, 201, task.text);
  const { id } = task.json.data;
  const changed = await b.api("PUT", `/api/scheduler/tasks/${id}`, { cronExpression: "0 0 2 1 *" }, as(BOOT));
  assert.equal(changed.status, 200, changed.text);
  const run = await b.api("POST", `/api/scheduler/tasks/${id}/trigger`, undefined, as(BOOT));
  assert.equal(run.status, 202, run.text);
  for (const node of nodes) {
    const trail = await node.api("GET", `/api/scheduler/audit?target=${id}`, undefined, as(BOOT));
    assert.equal(trail.status, 200, trail.text);
    // Sorted by action: two servers' entries in one millisecond have no order between them.
    const entries = trail.json.data.list.toSorted((x, y) => x.action.localeCompare(y.action));
    assert.deepEqual(
      entries.map((e) => [e.action, e.actor, e.address]),
      [
        ["task.create", "bootstrap", "127.0.0.1"],
        ["task.run", "bootstrap", "127.0.0.1"],
        ["task.update", "bootstrap", "127.0.0.1"],
      ],
    );
    const [, ran, update] = entries;
    assert.deepEqual(ran.detail, { executionId: run.json.data.executionId });
    assert.deepEqual(update.changes, { cronExpression: { old: "0 0 1 1 *", new: "0 0 2 1 *" } });
  }
});
