import { describe, expect, test } from "vitest";
import {
  argvFrom,
  draftFrom,
  newRule,
  environmentError,
  headersError,
  jsonError,
  localErrors,
  requestBody,
  tagsError,
} from "./taskForm";

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

describe("tags in the form", () => {
  test("are kept in order and sent as they are; each is checked as the server would", () => {
    const d = draftFrom({ ...draftTask(), tags: ["team:payments", "env/prod"] } as never);
    expect(d.tags).toEqual(["team:payments", "env/prod"]);
    expect(requestBody(d).tags).toEqual(["team:payments", "env/prod"]);
    expect(tagsError(["a.b_c-d/e:f"])).toBeNull();
    expect(tagsError(["two words"])).toMatch(/"two words" is not a tag/);
    expect(tagsError(["x".repeat(65)])).toMatch(/1 to 64 characters/);
    expect(tagsError(Array.from({ length: 21 }, (_, i) => `t${i}`))).toBe("at most 20 tags");
    d.tags = ["bad tag"];
    expect(Object.keys(localErrors(d))).toContain("tags");
  });
});

function draftTask() {
  return { name: "t", cronExpression: "* * * * *", timezone: "UTC", type: "function", functionName: "f" };
}

describe("command tasks in the form", () => {
  test("one argument per line is the exact argv, spaces kept", () => {
    expect(argvFrom("")).toEqual([]);
    expect(argvFrom("pg_dump\n--format=custom\napp db\n")).toEqual(["pg_dump", "--format=custom", "app db"]);
    expect(argvFrom("/bin/sh\n-c\necho  two  spaces")).toEqual(["/bin/sh", "-c", "echo  two  spaces"]);
    expect(argvFrom("echo\n\nafter an empty argument")).toEqual(["echo", "", "after an empty argument"]);
  });

  test("a draft from a command task and back gives the same fields", () => {
    const task = {
      ...draftFrom(null),
      id: "t",
      createdAt: 0,
      updatedAt: 0,
      pausedNote: null,
      pausedAt: null,
      startAt: null,
      endAt: null,
      functionName: null,
      functionPayload: null,
      httpMethod: null,
      httpUrl: null,
      httpHeaders: null,
      httpBody: null,
      type: "command" as const,
      command: ["/usr/bin/env", "python3", "job.py"],
      workingDirectory: "/srv/jobs",
      environment: { PYTHONUNBUFFERED: "1", MODE: "nightly" },
      commandInput: "input\n",
      maxRuns: 5,
      runCount: 1,
      catchUp: true,
      catchUpPolicy: "all" as const,
      catchUpWindowSeconds: 7200,
      pauseAfterFailures: null,
      notifications: [],
    };
    const body = requestBody(draftFrom(task));
    expect(body.maxRuns).toBe(5);
    expect(body.catchUpPolicy).toBe("all");
    expect(body.catchUpWindowSeconds).toBe(7200);
    expect(body).not.toHaveProperty("catchUp");
    expect(body.pauseAfterFailures).toBeNull();
    expect(body.jitterSeconds).toBe(0);
    expect(body).not.toHaveProperty("runCount");
    expect(body.command).toEqual(task.command);
    expect(body.workingDirectory).toBe("/srv/jobs");
    expect(body.environment).toEqual(task.environment);
    expect(body.commandInput).toBe("input\n");
    expect(body.httpUrl).toBeNull();
    expect(body.functionName).toBeNull();
  });

  test("the browser checks the program, the directory and the variable names", () => {
    const d = draftFrom(null);
    d.name = "c";
    d.type = "command";
    d.workingDirectory = "relative";
    d.environment = [{ name: "CRONKIT_TASK_ID", value: "x" }];
    expect(localErrors(d)).toEqual({
      command: "the program is required (first line)",
      workingDirectory: "must be an absolute path",
      environment: "CRONKIT_TASK_ID: cronkit sets the CRONKIT_ variables itself",
    });
    expect(environmentError([{ name: "1A", value: "" }])).toMatch(/not a variable name/);
    expect(
      environmentError([
        { name: "A", value: "1" },
        { name: "A", value: "2" },
      ]),
    ).toBe("A is set twice");
    expect(environmentError([{ name: "", value: "x" }])).toBe("every variable needs a name");
    d.commandLines = "true";
    d.workingDirectory = "";
    d.environment = [];
    expect(localErrors(d)).toEqual({});
    const body = requestBody(d);
    expect(body.environment).toBeNull();
    expect(body.commandInput).toBeNull();
    expect(body.workingDirectory).toBeNull();
  });

  test("notification rules: checked as the server would, sent with empty thresholds as null", () => {
    const d = draftFrom(null);
    d.name = "backup";
    d.functionName = "cleanup-logs";
    expect(d.notifications).toEqual([]);
    d.notifications = [newRule("c1")];
    expect(localErrors(d)).toEqual({});
    d.notifications[0].on = ["recovery"];
    expect(localErrors(d).notifications).toBe("rule 1: a recovery follows a failure: choose failure too");
    d.notifications[0].on = ["slow"];
    expect(localErrors(d).notifications).toBe("rule 1: say after how many seconds a run is slow");
    d.notifications[0].slowSeconds = 90;
    d.notifications.push(newRule("c1"));
    expect(localErrors(d).notifications).toBe("rule 2: this channel has a rule already");
    d.notifications[1].channelId = "";
    expect(localErrors(d).notifications).toBe("rule 2: choose a channel");
    d.notifications[1].channelId = "c2";
    d.notifications[1].realertMinutes = 30;
    expect(localErrors(d)).toEqual({});
    expect(requestBody(d).notifications).toEqual([
      {
        channelId: "c1",
        on: ["slow"],
        afterFailures: 1,
        realertMinutes: null,
        slowSeconds: 90,
        missedGraceSeconds: 60,
      },
      {
        channelId: "c2",
        on: ["failure", "recovery"],
        afterFailures: 1,
        realertMinutes: 30,
        slowSeconds: null,
        missedGraceSeconds: 60,
      },
    ]);
  });
});
