// The config file (--config, CRONKIT_CONFIG): every serve option can be set in it, the
// command line and the environment win over it, a bad file refuses to start naming the key
// and its line, and --print-config shows the effective settings with secrets masked.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultBinary, root, startServer } from "../support/harness.mjs";

const dir = mkdtempSync(join(tmpdir(), "cronkit-config-"));
let files = 0;
function file(text) {
  const path = join(dir, `cronkit-${++files}.toml`);
  writeFileSync(path, text);
  return path;
}

// Runs the program; the environment holds only what the test gives (and PATH).
function cronkit(args, env = {}) {
  const r = spawnSync(defaultBinary(), args, {
    encoding: "utf8",
    env: { PATH: process.env.PATH, CRONKIT_CONFIG: "/dev/null", ...env },
    timeout: 20000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

// The effective settings, as a map of key to the text of its value.
function settings(args, env) {
  const r = cronkit(["serve", ...args, "--print-config"], env);
  assert.equal(r.code, 0, r.err);
  const out = new Map();
  for (const line of r.out.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-z-]+) = (.*)$/.exec(line);
    assert.ok(m, `a line of --print-config: ${line}`);
    out.set(m[1], m[2]);
  }
  return out;
}

test("the defaults, then a file's values", () => {
  const defaults = settings([]);
  assert.equal(defaults.get("port"), "3399");
  assert.equal(defaults.get("host"), '"127.0.0.1"');
  assert.equal(defaults.get("db"), '"sqlite:./data/cronkit.db"');
  assert.equal(defaults.get("max-concurrency"), "5");
  assert.equal(defaults.get("insecure"), "false");
  assert.equal(defaults.get("cors-origin"), "[]");

  const path = file(`# settings of a server
port = 4000
host = "0.0.0.0"
max-concurrency = 20   # a comment after a value
insecure = true
cors-origin = ["https://a.example", "https://b.example"]
log-level = 'debug'
`);
  const s = settings(["--config", path]);
  assert.equal(s.get("port"), "4000");
  assert.equal(s.get("host"), '"0.0.0.0"');
  assert.equal(s.get("max-concurrency"), "20");
  assert.equal(s.get("insecure"), "true");
  assert.equal(s.get("cors-origin"), '["https://a.example", "https://b.example"]');
  assert.equal(s.get("log-level"), '"debug"');
  // The same file named by the environment.
  assert.deepEqual(settings([], { CRONKIT_CONFIG: path }), s);
});

test("every setting --print-config shows can be set in a file, and reads back the same", () => {
  const path = file(`port = 4001
db = "sqlite:/var/tmp/x.db"
max-queued = 77
log-retention-days = 9
shutdown-grace = 3
public-url = "https://cron.example"
log-format = "json"
max-connections = 99
request-timeout = 7
start-before-stored = true
allow-commands = true
command-user = "nobody"
command-kill-grace = 2
state-dir = "/var/tmp/state"
node-id = "node-a"
`);
  const first = cronkit(["serve", "--config", path, "--print-config"]);
  assert.equal(first.code, 0, first.err);
  // What it printed, read as a config file, gives the same settings.
  const again = cronkit(["serve", "--config", file(first.out), "--print-config"]);
  assert.equal(again.code, 0, again.err);
  assert.equal(again.out.split("\n").slice(1).join("\n"), first.out.split("\n").slice(1).join("\n"));
  const s = settings(["--config", path]);
  for (const [key, value] of [
    ["max-queued", "77"],
    ["log-retention-days", "9"],
    ["public-url", '"https://cron.example"'],
    ["start-before-stored", "true"],
    ["node-id", '"node-a"'],
  ]) {
    assert.equal(s.get(key), value, key);
  }
  // Each key the server prints is one the file set or one left at its default.
  assert.ok(s.size >= 20, [...s.keys()].join(" "));
});

test("the command line wins over the environment, which wins over the file", () => {
  const path = file('log-level = "debug"\nlog-format = "json"\n');
  const env = { CRONKIT_LOG_LEVEL: "warn" };
  assert.equal(settings(["--config", path, "--log-level", "error"], env).get("log-level"), '"error"');
  assert.equal(settings(["--config", path], env).get("log-level"), '"warn"');
  assert.equal(settings(["--config", path]).get("log-level"), '"debug"');
  assert.equal(settings([]).get("log-level"), '"info"');
  // The file still sets what neither of the others does.
  assert.equal(settings(["--config", path, "--log-level", "error"], env).get("log-format"), '"json"');
});

test("secrets are masked in --print-config", () => {
  const path = file('api-token = "t0ps3cret-token"\ndb = "postgresql://app:hunter2@db.example:5432/cron"\n');
  const r = cronkit(["serve", "--config", path, "--print-config"]);
  assert.equal(r.code, 0, r.err);
  assert.ok(!r.out.includes("t0ps3cret"), r.out);
  assert.ok(!r.out.includes("hunter2"), r.out);
  assert.match(r.out, /^api-token = "\*{8}"$/m);
  assert.match(r.out, /^db = "postgresql:\/\/app:\*\*\*@db\.example:5432\/cron"$/m);
  assert.match(r.out, new RegExp(`^# cronkit serve: the effective settings \\(config file ${path}\\)$`, "m"));
});

test("a bad file refuses to start, naming the file, the line and the key", () => {
  const cases = [
    ["port = 4000\nprot = 4001\n", /:2: key "prot": unknown key/],
    ["# a comment\n\nport = 70000\n", /:3: key "port": .*70000/],
    ["max-concurrency = many\n", /:1: key "max-concurrency": /],
    ['log-format = "yaml"\n', /:1: key "log-format": .*yaml/],
    ['host = "a", "b"\n', /:1: key "host": takes one value, not a list/],
    ["port = []\n", /:1: key "port": needs a value, not an empty list/],
    ['api-token = "abc#def"\n', /:1: key "api-token": a quoted value must end on its line and not contain #/],
    ["[serve]\nport = 4000\n", /\[serve\]: sections are not used/],
    ['config = "/etc/other.toml"\n', /:1: key "config": unknown key/],
  ];
  for (const [text, message] of cases) {
    const path = file(text);
    const r = cronkit(["serve", "--config", path]);
    assert.equal(r.code, 2, `${text}: ${r.err}`);
    assert.match(r.err, message, text);
    assert.ok(r.err.startsWith(`cronkit: ${path}`), r.err);
  }
  const missing = cronkit(["serve", "--config", join(dir, "missing.toml")]);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /missing\.toml: cannot be read/);
});

test("migrate takes the database from the file, and no other key", () => {
  const db = join(dir, "migrated.db");
  const path = file(`db = "sqlite:${db}"\nmax-concurrency = 20\n`);
  const r = cronkit(["migrate", "--config", path]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /schema version \d+/);
  assert.equal(cronkit(["migrate", "--config", path]).out.trim().endsWith("(up to date)"), true);
});

test("a server runs with its file's settings", async () => {
  const token = "file-token-0123456789";
  const path = file(`api-token = "${token}"\nlog-format = "json"\n`);
  const server = await startServer({ args: ["--config", path] });
  try {
    assert.equal((await server.api("GET", "/api/scheduler/stats")).status, 401);
    const ok = await server.api("GET", "/api/scheduler/stats", undefined, {
      authorization: `Bearer ${token}`,
    });
    assert.equal(ok.status, 200);
    const first = server.log().split("\n")[0];
    assert.doesNotThrow(() => JSON.parse(first), first);
  } finally {
    await server.stop();
  }
});

test("the config file the package installs is accepted as it is", () => {
  const s = settings(["--config", join(root, "packaging/cronkit.toml")]);
  assert.equal(s.get("db"), '"sqlite:/var/lib/cronkit/cronkit.db"');
  assert.equal(s.get("host"), '"127.0.0.1"');
  assert.equal(s.get("port"), "3399");
});

test("docs/operations.md lists every setting with its default and environment variable", () => {
  const doc = readFileSync(join(root, "docs/operations.md"), "utf8");
  const rows = new Map(
    [...doc.matchAll(/^\| `([a-z-]+)` \| `(.*?)` \| (?:`([A-Z_]+)`|—) \|/gm)].map((m) => [
      m[1],
      { value: m[2], env: m[3] ?? null },
    ]),
  );
  const defaults = settings([]);
  assert.deepEqual([...rows.keys()], [...defaults.keys()]);
  const help = cronkit(["serve", "--help"]).out;
  for (const [key, value] of defaults) {
    assert.equal(rows.get(key).value, value, `the default of ${key}`);
    const line = help.split("\n").find((l) => l.startsWith(`  --${key} `) || l === `  --${key}`);
    assert.ok(line, `--${key} in --help`);
    assert.equal(
      rows.get(key).env,
      /\(Env:([A-Z_]+)\)/.exec(line)?.[1] ?? null,
      `the environment variable of ${key}`,
    );
  }
});
