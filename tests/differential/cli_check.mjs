// Runs `cronkit cron next` and `cronkit cron check` for a sample of the generated cases
// and compares with croner's answers in the file.
//   node cli_check.mjs CASES CRONKIT
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const [casesFile, cronkit] = process.argv.slice(2);
const lines = readFileSync(casesFile, 'utf8').split('\n').filter(Boolean);
const sample = lines.filter((_, i) => i % Math.max(1, Math.floor(lines.length / 250)) === 0);

let passed = 0;
let failed = 0;
for (const line of sample) {
  const parts = line.split('|');
  const want = parts.pop();
  const fromMs = Number(parts.pop());
  const zone = parts.pop();
  const pattern = parts.join('|');
  const from = new Date(fromMs).toISOString();
  let code = 0;
  let out = '';
  try {
    out = execFileSync(cronkit, ['cron', 'next', pattern, '--tz', zone, '--from', from, '-n', '10'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  } catch (e) {
    code = e.status;
    out = e.stdout ?? '';
  }
  let checkCode = 0;
  try {
    execFileSync(cronkit, ['cron', 'check', pattern], { stdio: 'ignore' });
  } catch (e) {
    checkCode = e.status;
  }
  const expected = want === 'ERR' ? null : want.split(',').filter(Boolean)
    .map((s) => new Date(Number(s) * 1000).toISOString().replace('.000Z', 'Z'));
  const got = out.split('\n').filter(Boolean);
  const ok = expected === null
    ? code === 2 && checkCode === 2
    : code === 0 && checkCode === 0 && JSON.stringify(got) === JSON.stringify(expected);
  if (ok) {
    passed++;
  } else {
    failed++;
    console.log(`CLI MISMATCH '${pattern}' ${zone} from ${from}: exit ${code}/${checkCode}`);
    console.log(`  want ${expected ? expected.join(' ') : 'exit 2'}\n  got  ${got.join(' ')}`);
  }
}
console.log(`cli: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
