// Side-by-side throughput of cronkit and croner: successive instants per second for the
// same patterns, in UTC (croner without a timezone option, TZ=UTC) and in New York
// (croner with its timezone option). Alternates the two, reports medians and ratios.
//   node bench/compare.mjs [--reps 3] [--cronkit-n 1000000] [--croner-n-utc 200000]
//                          [--croner-n-tz 30000] [--build build]
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const reps = Number(arg("reps", 3));
const cronkitN = Number(arg("cronkit-n", 1000000));
const cronerN = { UTC: Number(arg("croner-n-utc", 200000)), tz: Number(arg("croner-n-tz", 30000)) };
const tool = path.resolve(here, "..", arg("build", "build"), "bench", "cronkit_cron_throughput");
const patterns = readFileSync(path.join(here, "patterns.txt"), "utf8").split("\n").filter(Boolean);

const rate = (out) => Number(String(out).trim().split("\t")[4]);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const rows = [];
for (const zone of ["UTC", "America/New_York"]) {
  for (const pattern of patterns) {
    const ours = [];
    const theirs = [];
    for (let r = 0; r < reps; ++r) {
      ours.push(rate(execFileSync(tool, [zone, String(cronkitN)], { input: pattern + "\n" })));
      theirs.push(
        rate(
          execFileSync(
            process.execPath,
            [
              path.join(here, "croner_throughput.mjs"),
              zone,
              String(zone === "UTC" ? cronerN.UTC : cronerN.tz),
            ],
            { input: pattern + "\n", env: { ...process.env, TZ: "UTC" } },
          ),
        ),
      );
    }
    rows.push({ zone, pattern, ours: median(ours), theirs: median(theirs) });
    const last = rows[rows.length - 1];
    process.stderr.write(`${zone}\t${pattern}\t${last.ours}\t${last.theirs}\n`);
  }
}
const fmt = (n) => n.toLocaleString("en-US");
console.log(`| zone | pattern | cronkit instants/s | croner instants/s | ratio |`);
console.log(`| --- | --- | ---: | ---: | ---: |`);
for (const r of rows) {
  console.log(
    `| ${r.zone} | \`${r.pattern}\` | ${fmt(r.ours)} | ${fmt(r.theirs)} | ${Math.round(r.ours / r.theirs)}x |`,
  );
}
console.log(
  `\nmedians of ${reps} runs; cronkit ${fmt(cronkitN)} instants per run, croner ` +
    `${fmt(cronerN.UTC)} (UTC) and ${fmt(cronerN.tz)} (New York); ${new Date().toISOString()}`,
);
