// What an apply of N tasks costs, on the server at BASE (started by bench/apply_load.sh):
// the first apply (N creates), the same apply again (N unchanged, nothing written), one
// task changed (1 update, N-1 unchanged), and an export. Each is run ROUNDS times on fresh
// names; the medians are printed, with the bytes sent per task (which do not depend on the
// machine) and the rows each apply wrote.
//   node bench/apply_load.mjs BASE N ROUNDS
const [base, n = "1000", rounds = "5"] = process.argv.slice(2);
if (!base) {
  console.error("usage: node bench/apply_load.mjs BASE N ROUNDS");
  process.exit(2);
}

async function call(method, path, body) {
  const started = performance.now();
  const res = await fetch(base + path, {
    method,
    headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json();
  if (res.status !== 200)
    throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json).slice(0, 300)}`);
  return { ms: performance.now() - started, data: json.data };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const times = { create: [], unchanged: [], oneUpdate: [], export: [] };
let bytesPerTask = 0;
for (let round = 0; round < Number(rounds); round++) {
  const tag = `bench:r${round}`;
  const tasks = Array.from({ length: Number(n) }, (_, i) => ({
    name: `apply bench ${round} ${String(i).padStart(6, "0")}`,
    type: "http",
    cronExpression: "0 0 0 1 1 *",
    timezone: "Europe/Berlin",
    httpUrl: "http://127.0.0.1:9/hook",
    httpHeaders: '{"Content-Type":"application/json"}',
    maxRetries: 2,
    tags: [tag, "team:bench"],
  }));
  const body = { tasks, selector: [tag], prune: true };
  bytesPerTask = JSON.stringify(body).length / tasks.length;
  const created = await call("POST", "/api/scheduler/apply", body);
  if (created.data.created.length !== tasks.length) throw new Error("not all created");
  times.create.push(created.ms);
  const same = await call("POST", "/api/scheduler/apply", body);
  if (same.data.unchanged.length !== tasks.length) throw new Error("not all unchanged");
  times.unchanged.push(same.ms);
  tasks[0].maxRetries = 3;
  const one = await call("POST", "/api/scheduler/apply", body);
  if (one.data.updated.length !== 1) throw new Error("not one update");
  times.oneUpdate.push(one.ms);
  times.export.push((await call("GET", `/api/scheduler/export?tag=${encodeURIComponent(tag)}`)).ms);
}
console.log(`tasks per apply: ${n}, rounds: ${rounds}, request bytes per task: ${bytesPerTask.toFixed(0)}`);
for (const [what, xs] of Object.entries(times)) {
  const rows = { create: n, unchanged: 0, oneUpdate: 1, export: 0 }[what];
  console.log(
    `${what.padEnd(10)} median ${median(xs).toFixed(1)} ms  (${((median(xs) / Number(n)) * 1000).toFixed(1)} us per task; rows written: ${rows})`,
  );
}
