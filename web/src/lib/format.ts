// How times, durations and patterns read in the UI.
import cronstrue from "cronstrue";

/// A cron pattern in words ("At 03:00 AM"), or null if cronstrue cannot read it (the
/// server's parser is the judge of validity, not this).
export function describeCron(pattern: string): string | null {
  try {
    return cronstrue.toString(pattern, { use24HourTimeFormat: true, throwExceptionOnParseError: true });
  } catch {
    return null;
  }
}

/// "in 5 s", "3 min ago", "in 2 h", "4 d ago", relative to `now`.
export function relative(at: number, now: number = Date.now()): string {
  const diff = at - now;
  const abs = Math.abs(diff);
  const units: [number, string][] = [
    [86_400_000, "d"],
    [3_600_000, "h"],
    [60_000, "min"],
    [1_000, "s"],
  ];
  if (abs < 1000) return "now";
  for (const [ms, unit] of units) {
    if (abs >= ms) {
      const n = Math.floor(abs / ms);
      return diff > 0 ? `in ${n} ${unit}` : `${n} ${unit} ago`;
    }
  }
  return "now";
}

/// An instant in a time zone, "2026-11-27 03:00:00".
export function dateTime(at: number, timeZone?: string): string {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  }).formatToParts(at);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? "";
  return `${get("year")}-${get("month")}-${get("day")} ${get("hour")}:${get("minute")}:${get("second")}`;
}

/// 850 ms, 12.3 s, 4 min 05 s.
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "—";
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const min = Math.floor(ms / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  return `${min} min ${String(s).padStart(2, "0")} s`;
}
