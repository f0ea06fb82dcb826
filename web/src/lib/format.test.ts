import { describe, expect, test } from "vitest";
import { dateTime, describeCron, duration, relative } from "./format";

describe("format", () => {
  test("describes cron patterns, seconds included, and gives up on nonsense", () => {
    expect(describeCron("0 0 3 * * *")).toBe("At 03:00");
    expect(describeCron("*/10 * * * * *")).toBe("Every 10 seconds");
    expect(describeCron("0 9 * * 1-5")).toBe("At 09:00, Monday through Friday");
    expect(describeCron("not a pattern")).toBeNull();
  });

  test("relative times", () => {
    const now = 1_700_000_000_000;
    expect(relative(now + 5_000, now)).toBe("in 5 s");
    expect(relative(now - 180_000, now)).toBe("3 min ago");
    expect(relative(now + 2 * 3_600_000 + 5, now)).toBe("in 2 h");
    expect(relative(now + 300, now)).toBe("now");
  });

  test("instants in a zone and durations", () => {
    expect(dateTime(Date.UTC(2026, 10, 27, 2, 0, 0), "Europe/Berlin")).toBe("2026-11-27 03:00:00");
    expect(duration(850)).toBe("850 ms");
    expect(duration(12_345)).toBe("12.3 s");
    expect(duration(245_000)).toBe("4 min 05 s");
    expect(duration(null)).toBe("—");
  });
});
