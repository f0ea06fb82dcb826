// Back-pressure through the real binary: with --max-concurrency 2 --max-queued 3, ten
// every-second tasks against a target that holds every request. The server claims five
// firings and no more, stays ready, says how far behind it is (/readyz, /metrics), and
// catches up once the target answers.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { client, eventually, startReceiver, startServer } from "./server.mjs";

let held = []; // responses the target holds back
let holding = true;
let target;
before(async () => {
  target = await startReceiver({
    respond(req, res) {
      if (holding) held.push(res);
      else res.end("ok");
    },
  });
});
after(() => target.close());

test("at --max-queued the server claims no more, stays ready and says how far behind it is", async () => {
  const server = await startServer({ args: ["--max-concurrency", "2", "--max-queued", "3"] });
  try {
    const api = client(server.base);
    for (let i = 0; i < 10; i++) {
      const res = await api("POST", "/api/scheduler/tasks", {
        name: `held ${i}`,
        cronExpression: "* * * * * *",
        type: "http",
        httpUrl: target.url(`/held/${i}`),
        timeoutSeconds: 60,
      });
      assert.equal(res.status, 201, res.text);
    }
    const unfinished = async () => {
      const s = (await api("GET", "/api/scheduler/stats")).json.data;
      return s.queued + s.running;
    };
    // Two requests held, three more claimed: behind, by a second and more.
    const ready = await eventually(
      async () => {
        const r = (await api("GET", "/readyz")).json.data;
        assert.ok((await unfinished()) <= 5, "at most max-concurrency + max-queued claimed");
        return r.behindSeconds >= 1.5 ? r : undefined;
      },
      15000,
      "the server 1.5 s behind",
    );
    assert.equal(ready.status, "ready");
    assert.equal(ready.running, 2);
    assert.equal(ready.waiting, 3);
    assert.equal(target.requests.length, 2);
    assert.equal(await unfinished(), 5);
    const metrics = (await api("GET", "/metrics")).text;
    assert.ok(Number(/^cronkit_scheduler_behind_seconds (\S+)$/m.exec(metrics)[1]) >= 1.5, metrics);

    // The target answers: the server catches up.
    holding = false;
    for (const res of held) res.end("ok");
    held = [];
    await eventually(
      async () => (await api("GET", "/readyz")).json.data.behindSeconds === 0,
      15000,
      "caught up",
    );
    await eventually(async () => target.requests.length >= 20, 15000, "the tasks running again");
  } finally {
    holding = false;
    for (const res of held) res.end("ok");
    await server.stop();
  }
});
