import { describe, expect, test } from "vitest";
import { draftFrom, headersError, jsonError, localErrors, requestBody } from "./taskForm";

describe("task form", () => {
  test("a new draft starts from the first registered function and the browser's zone", () => {
    const d = draftFrom(null, ["cleanup-logs", "other"]);
    expect(d.type).toBe("function");
    expect(d.functionName).toBe("cleanup-logs");
    expect(d.timezone).toBe(Intl.DateTimeFormat().resolvedOptions().timeZone);
    expect(d.enabled).toBe(true);
  });

  test("JSON fields are checked before saving", () => {
    expect(jsonError("")).toBeNull();
    expect(jsonError('{"days": 7}')).toBeNull();
    expect(jsonError("{days: 7}")).toMatch(/not valid JSON/);
    expect(headersError('{"X-A": "1"}')).toBeNull();
    expect(headersError("[]")).toMatch(/JSON object/);
    expect(headersError('{"X-A": 1}')).toBe("the value of X-A must be a string");
  });

  test("local errors name their fields", () => {
    const d = draftFrom(null);
    d.name = " ";
    d.type = "http";
    d.httpHeaders = "{";
    expect(Object.keys(localErrors(d)).sort()).toEqual(["httpHeaders", "httpUrl", "name"]);
  });

  test("the body clears the other type's fields", () => {
    const d = draftFrom(null, ["cleanup-logs"]);
    d.name = "ping";
    d.type = "http";
    d.httpUrl = " http://127.0.0.1:8080/ping ";
    d.functionPayload = '{"x":1}';
    const body = requestBody(d);
    expect(body.functionName).toBeNull();
    expect(body.functionPayload).toBeNull();
    expect(body.httpUrl).toBe("http://127.0.0.1:8080/ping");
    expect(body.httpHeaders).toBeNull();
    expect(body.maxRetries).toBe(0);
  });
});
