import { describe, expect, test } from "vitest";
import { parseEvents } from "./events";

describe("parseEvents", () => {
  test("reads named events with JSON data and keeps the unfinished rest", () => {
    const { events, rest, retry } = parseEvents(
      'retry: 2000\n: connected\n\nevent: task.created\ndata: {"id":"a","enabled":true}\n\nevent: execution.queued\ndata: {"id"',
    );
    expect(retry).toBe(2000);
    expect(events).toEqual([{ event: "task.created", data: { id: "a", enabled: true } }]);
    expect(rest).toBe('event: execution.queued\ndata: {"id"');
  });

  test("skips heartbeats, joins data lines and accepts CRLF", () => {
    const { events, rest } = parseEvents(": heartbeat\r\n\r\ndata: line one\r\ndata: line two\r\n\r\n");
    expect(events).toEqual([{ event: "message", data: "line one\nline two" }]);
    expect(rest).toBe("");
  });
});
