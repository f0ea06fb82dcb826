// Generates random cron patterns, zones and start instants, and records what croner
// says about each: a rejection, or the next ten firing instants.
//
//   node generate.mjs --count 20000 --seed 1 > cases.tsv
//
// One case per line, fields separated by '|' (which no pattern here contains): pattern,
// zone, start (epoch ms), then "ERR" or the instants (epoch seconds, comma-separated).
import { Cron } from 'croner';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => {
    if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
    return acc;
  }, []),
);
const count = Number(args.count ?? 20000);
const seed = Number(args.seed ?? 1);

// mulberry32: small, fast, and the same on every machine.
let state = seed >>> 0;
function random() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));
const pick = (xs) => xs[Math.floor(random() * xs.length)];
const chance = (p) => random() < p;

// Zones whose rules agree between Node's ICU data and the tzdata this project installs.
// (America/Havana does not: tzdata 2026f keeps Cuba on -04 from November 2026.)
export const ZONES = [
  'UTC',
  'America/New_York',
  'Europe/London',
  'Australia/Lord_Howe',
  'Asia/Kathmandu',
  'Pacific/Apia',
  'Europe/Berlin',
  'America/Sao_Paulo',
  'Australia/Sydney',
  'America/Santiago',
  'Pacific/Chatham',
  'America/St_Johns',
  'Asia/Beirut',
  'Africa/Cairo',
  'Europe/Dublin',
  'Antarctica/Troll',
  'Asia/Tokyo',
  'America/Los_Angeles',
];

// ---- patterns --------------------------------------------------------------------------

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

function mixCase(s) {
  if (chance(0.6)) return s;
  return [...s].map((c) => (chance(0.5) ? c.toLowerCase() : c)).join('');
}

// One list element of a numeric field with values lo..hi; `hot` values are favoured so that
// the hours around DST changes and the ends of months come up often.
function element(lo, hi, hot, name) {
  const value = () => (hot && chance(0.5) ? pick(hot) : int(lo, hi));
  const named = (v) => (name && chance(0.35) ? mixCase(name(v)) : String(v));
  const r = random();
  if (r < 0.45) return named(value());
  if (r < 0.6) {
    const a = value();
    const b = Math.min(hi, a + int(0, Math.max(1, Math.floor((hi - lo) / 3))));
    return `${named(a)}-${named(b)}`;
  }
  if (r < 0.8) return `*/${int(1, Math.max(1, Math.floor((hi - lo + 1) / 2)))}`;
  const a = value();
  const b = Math.min(hi, a + int(1, hi - lo));
  return `${a}-${b}/${int(1, Math.max(1, Math.floor((hi - lo) / 2)))}`;
}

function field(lo, hi, { star = 0.3, hot, name, maxItems = 3 } = {}) {
  if (chance(star)) return chance(0.1) ? '?' : '*';
  const n = chance(0.7) ? 1 : int(2, maxItems);
  return Array.from({ length: n }, () => element(lo, hi, hot, name)).join(',');
}

function dayOfMonth() {
  const r = random();
  if (r < 0.35) return chance(0.1) ? '?' : '*';
  if (r < 0.45) return pick(['L', 'l', 'LW', 'lw']);
  if (r < 0.55) return `${int(1, 31)}W`;
  if (r < 0.6) return `${field(1, 31, { star: 0, hot: [1, 15, 28, 29, 30, 31] })},L`;
  if (r < 0.65) return `L,${int(1, 31)}${chance(0.5) ? 'W' : ''}`;
  return field(1, 31, { star: 0, hot: [1, 15, 28, 29, 30, 31] });
}

function dayOfWeek() {
  const r = random();
  let s;
  if (r < 0.45) return chance(0.1) ? '?' : '*';
  if (r < 0.55) s = `${chance(0.5) ? mixCase(pick(DAYS)) : int(0, 7)}#${chance(0.85) ? int(1, 5) : 'L'}`;
  else if (r < 0.62) s = `${chance(0.5) ? mixCase(pick(DAYS)) : int(0, 7)}${chance(0.5) ? 'L' : 'l'}`;
  else if (r < 0.67) s = `${mixCase(pick(DAYS))}-${mixCase(pick(['SAT', 'SUN', 'FRI']))}`;
  else s = field(0, 7, { star: 0, name: (v) => DAYS[v % 7] });
  if (chance(0.15)) s = `+${s}`;
  return s;
}

function year() {
  const r = random();
  if (r < 0.75) return '*';
  if (r < 0.85) return String(int(2020, 2060));
  if (r < 0.92) return `${int(2020, 2040)}-${int(2040, 2100)}`;
  return pick(['*/4', '2024-2100/4', '2030,2050', '2099-2101', '*/2']);
}

function validPattern() {
  if (chance(0.04)) {
    return mixCase(
      pick(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']),
    );
  }
  const hotHours = [0, 1, 2, 3, 23];
  const second = field(0, 59, { star: 0.2, hot: [0, 30, 59] });
  const minute = field(0, 59, { star: 0.25, hot: [0, 15, 30, 45, 59] });
  const hour = field(0, 23, { star: 0.25, hot: hotHours });
  const month = field(1, 12, { star: 0.6, name: (v) => MONTHS[v - 1], hot: [2, 3, 10, 11, 12] });
  const parts = [minute, hour, dayOfMonth(), month, dayOfWeek()];
  const shape = random();
  if (shape < 0.35) return parts.join(' ');
  if (shape < 0.85) return [second, ...parts].join(' ');
  return [second, ...parts, year()].join(' ');
}

// Changes one thing in a pattern; the result is usually, not always, invalid.
function mutate(p) {
  const fields = p.split(' ');
  const i = int(0, fields.length - 1);
  const bad = [
    () => '60', () => '24', () => '32', () => '0', () => '13', () => '8', () => '-1',
    () => '/10', () => '5/5', () => '*/0', () => '*/61', () => '1,,2', () => '3,', () => ',3',
    () => '5-1', () => '1-2-3', () => 'JANUARY', () => 'MONDAY', () => 'MONL', () => 'FOO',
    () => '1.5', () => '$', () => 'a', () => '5W', () => 'W', () => 'L', () => 'LW', () => 'L,LW',
    () => 'L-5', () => '1-5W', () => '*/5W', () => '5#6', () => '5#0', () => '5#', () => '#2',
    () => '5#2#3', () => '*L', () => '1-5/0', () => '1-5/99', () => '+', () => '++1', () => '+1',
    () => '0-65/40', () => '0-99999999999999999999', () => '00005', () => '*/60', () => '7',
    () => '0-7', () => 'SUN-SAT', () => 'MON-SUN', () => 'sun,SAT', () => '1-5#2', () => '*/2#3',
    () => '1#L', () => '5#l', () => 'jan-MAR', () => 'JAN,', () => 'DEC-JAN', () => '?', () => '*,5',
    () => '0-59', () => '1-31', () => '2W,L', () => '31W', () => '1W', () => '10000', () => '9999',
    () => '*/10000', () => '0', () => '',
  ];
  const r = random();
  if (r < 0.8) {
    fields[i] = pick(bad)();
    return fields.join(' ');
  }
  if (r < 0.85) return fields.slice(0, int(1, 4)).join(' ');
  if (r < 0.9) return `${fields.join(' ')} * *`;
  if (r < 0.93) return pick(['@reboot', '@REBOOT', '@bogus', '@daily x', 'x@daily', '@']);
  if (r < 0.97) return `  ${fields.join(chance(0.5) ? '  ' : ' \t')}  `;
  return fields.join(' ').replace(/ /, '');
}

// ---- start instants --------------------------------------------------------------------

const offsetCache = new Map();
function offsetMs(zone, ms) {
  let f = offsetCache.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric',
      hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    offsetCache.set(zone, f);
  }
  const p = Object.fromEntries(f.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  const local = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour % 24, +p.minute, +p.second);
  return local - Math.floor(ms / 1000) * 1000;
}

// Offset changes of each zone between 1970 and 2100, found by probing every few days and
// bisecting: start instants near them are where cron engines go wrong.
const transitions = new Map();
function transitionsOf(zone) {
  if (transitions.has(zone)) return transitions.get(zone);
  const found = [];
  const step = 5 * 86400e3;
  let t = Date.UTC(1970, 0, 1);
  let off = offsetMs(zone, t);
  for (const end = Date.UTC(2100, 0, 1); t < end; t += step) {
    const next = offsetMs(zone, t + step);
    if (next !== off) {
      let lo = t, hi = t + step;
      while (hi - lo > 1000) {
        const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
        if (offsetMs(zone, mid) === off) lo = mid; else hi = mid;
      }
      found.push(hi);
      off = next;
    }
  }
  transitions.set(zone, found);
  return found;
}

function startInstant(zone) {
  const r = random();
  let ms;
  if (r < 0.35) {
    ms = int(Date.UTC(1970, 0, 1) / 1000, Date.UTC(2100, 0, 1) / 1000) * 1000;
  } else if (r < 0.8) {
    const ts = transitionsOf(zone);
    const base = ts.length ? pick(ts) : Date.UTC(int(1970, 2099), int(0, 11), int(1, 28));
    ms = base + int(-2 * 86400, 86400) * 1000;
  } else if (r < 0.92) {
    ms = int(Date.UTC(2100, 0, 1) / 1000, Date.UTC(2500, 0, 1) / 1000) * 1000;
  } else {
    ms = int(Date.UTC(2998, 0, 1) / 1000, Date.UTC(3000, 0, 1) / 1000) * 1000;
  }
  if (chance(0.15)) ms += int(1, 999);
  return ms;
}

// ---- main ------------------------------------------------------------------------------

export function croner(pattern, zone, fromMs, n = 10) {
  try {
    const job = new Cron(pattern, { timezone: zone });
    return job.nextRuns(n, new Date(fromMs)).map((d) => d.getTime() / 1000);
  } catch {
    return null;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const out = [];
  for (let i = 0; i < count; ++i) {
    let pattern = validPattern();
    if (chance(0.25)) pattern = mutate(pattern);
    // croner reads a pattern with ':' after its first character as a one-off date.
    if (pattern.indexOf(':') > 0) continue;
    const zone = pick(ZONES);
    const from = startInstant(zone);
    const runs = croner(pattern, zone, from);
    out.push(`${pattern}|${zone}|${from}|${runs === null ? 'ERR' : runs.join(',')}`);
    if (out.length >= 2000) {
      process.stdout.write(out.join('\n') + '\n');
      out.length = 0;
    }
  }
  if (out.length) process.stdout.write(out.join('\n') + '\n');
}
