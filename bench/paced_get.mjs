// GETs a URL at a steady rate and prints the latency's percentiles, measured from when each
// request was due (so a stalled server shows as latency, not as fewer requests):
//   node bench/paced_get.mjs URL RATE SECONDS
// Up to 16 requests are in flight at once over keep-alive connections; a request that
// finds all 16 busy waits, and its wait counts in its latency.
import http from "node:http";

const [url, rate = "200", seconds = "15"] = process.argv.slice(2);
if (!url) {
  console.error("usage: node bench/paced_get.mjs URL RATE SECONDS");
  process.exit(2);
}
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
const interval = 1000 / Number(rate);
const total = Math.round(Number(rate) * Number(seconds));
const latencies = [];
let failures = 0;

function get(due) {
  return new Promise((resolve) => {
    const req = http.get(url, { agent }, (res) => {
      res.resume();
      res.on("end", () => {
        if (res.statusCode !== 200) failures++;
        latencies.push(performance.now() - due);
        resolve();
      });
    });
    req.on("error", () => {
      failures++;
      resolve();
    });
  });
}

const start = performance.now() + 100;
const pending = [];
for (let i = 0; i < total; i++) {
  const due = start + i * interval;
  const wait = due - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  pending.push(get(due));
}
await Promise.all(pending);
agent.destroy();
latencies.sort((a, b) => a - b);
const at = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
console.log(
  `${latencies.length} requests at ${rate}/s: p50 ${at(0.5).toFixed(2)} ms, ` +
    `p99 ${at(0.99).toFixed(2)} ms, max ${latencies.at(-1).toFixed(2)} ms, ${failures} failed`,
);
