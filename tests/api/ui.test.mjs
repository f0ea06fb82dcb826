// The admin UI built into the binary: where it lives, its headers, its size, and that it
// is public while the API behind it is not.
import { test } from "node:test";
import assert from "node:assert/strict";
import { serverForFile } from "./server.mjs";

const t = serverForFile({ env: { CRONKIT_API_TOKEN: "s3cret-token" } });

async function get(path, headers = {}) {
  const res = await fetch(t.server.base + path, { headers, redirect: "manual" });
  return { res, body: Buffer.from(await res.arrayBuffer()) };
}

test("/ redirects to the UI, which is public; the API still wants the token", async () => {
  const root = await get("/");
  assert.equal(root.res.status, 302);
  assert.equal(root.res.headers.get("location"), "/admin/scheduler/");
  const page = await get("/admin/scheduler/");
  assert.equal(page.res.status, 200);
  assert.match(page.res.headers.get("content-type"), /^text\/html/);
  assert.equal(page.res.headers.get("cache-control"), "no-cache");
  assert.match(page.res.headers.get("content-security-policy"), /default-src 'self'/);
  assert.match(page.body.toString(), /<div id="app"/);
  assert.equal((await get("/api/scheduler/tasks")).res.status, 401);
});

test("client routes get the app; hashed assets are immutable and gzipped", async () => {
  const route = await get("/admin/scheduler/tasks/some-id");
  assert.equal(route.res.status, 200);
  assert.match(route.body.toString(), /<div id="app"/);

  const html = (await get("/admin/scheduler/")).body.toString();
  const assets = [...html.matchAll(/(?:src|href)="(\/admin\/scheduler\/assets\/[^"]+)"/g)].map((m) => m[1]);
  assert.ok(assets.some((a) => a.endsWith(".js")) && assets.some((a) => a.endsWith(".css")), html);
  for (const path of assets) {
    const plain = await get(path, { "accept-encoding": "identity" });
    assert.equal(plain.res.status, 200, path);
    assert.equal(plain.res.headers.get("cache-control"), "public, max-age=31536000, immutable");
    assert.equal(plain.res.headers.get("content-encoding"), null);
    // fetch() inflates what it receives: the gzip form must inflate to the file.
    const zipped = await get(path, { "accept-encoding": "gzip" });
    assert.equal(zipped.res.headers.get("content-encoding"), "gzip");
    assert.deepEqual(zipped.body, plain.body, `${path}: the gzip form inflates to the file`);
  }
  assert.equal((await get("/admin/scheduler/assets/missing-0000.js")).res.status, 404);
});

test("every script and style of the UI together is under 300 KB gzipped", async () => {
  // An upper bound for the first load, which needs only some of them (measured in
  // Chromium by the end-to-end test).
  const html = (await get("/admin/scheduler/")).body.toString();
  const entry = /src="(\/admin\/scheduler\/assets\/index-[^"]+\.js)"/.exec(html)[1];
  const js = (await get(entry, { "accept-encoding": "identity" })).body.toString();
  const chunks = new Set([entry]);
  for (const m of js.matchAll(/"\.\/([A-Za-z0-9_-]+\.(?:js|css))"/g))
    chunks.add(`/admin/scheduler/assets/${m[1]}`);
  for (const m of html.matchAll(/href="(\/admin\/scheduler\/assets\/[^"]+\.css)"/g)) chunks.add(m[1]);
  let total = 0;
  for (const path of chunks) {
    const res = await fetch(t.server.base + path, { headers: { "accept-encoding": "gzip" } });
    await res.arrayBuffer();
    assert.equal(res.status, 200, path);
    total += Number(res.headers.get("content-length"));
  }
  assert.ok(chunks.size >= 3, [...chunks].join(", "));
  assert.ok(total < 300 * 1024, `${total} bytes gzipped over ${chunks.size} files`);
});
