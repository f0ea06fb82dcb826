// The same measurement as cronkit_cron_throughput, with croner's nextRun.
//   node croner_throughput.mjs ZONE N < patterns.txt
// ZONE "UTC" runs croner without a timezone option (the process must have TZ=UTC).
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";

const require = createRequire(new URL("../tests/differential/package.json", import.meta.url));
const { Cron } = require("croner");

const [zone, nText] = process.argv.slice(2);
const n = Number(nText);
const start = new Date(Date.UTC(2026, 0, 1));
for (const pattern of readFileSync(0, "utf8").split("\n").filter(Boolean)) {
  const job = new Cron(pattern, zone === "UTC" ? {} : { timezone: zone });
  let t = start;
  let checksum = 0;
  const begin = process.hrtime.bigint();
  for (let i = 0; i < n; ++i) {
    t = job.nextRun(t) ?? start;
    checksum += t.getTime() / 1000;
  }
  const secs = Number(process.hrtime.bigint() - begin) / 1e9;
  console.log([pattern, zone, n, secs, Math.round(n / secs), checksum & 0xffff].join("\t"));
}
