// The create/edit form's model: a draft of every editable field, checks that the browser
// can make before the server does (JSON that does not parse), and the request body.
import type {
  CatchUpPolicy,
  HttpMethod,
  NotifyRule,
  OverlapPolicy,
  RetryBackoff,
  RuleEvent,
  Task,
  TaskType,
} from "./types";

/** A notification rule as the form edits it: "" for an empty optional number. */
export interface RuleDraft {
  channelId: string;
  on: RuleEvent[];
  afterFailures: number;
  realertMinutes: number | "";
  slowSeconds: number | "";
  missedGraceSeconds: number;
}

export interface TaskDraft {
  name: string;
  cronExpression: string;
  timezone: string;
  type: TaskType;
  functionName: string;
  functionPayload: string;
  httpMethod: HttpMethod;
  httpUrl: string;
  httpHeaders: string;
  httpBody: string;
  /** The program and its arguments, one per line. */
  commandLines: string;
  workingDirectory: string;
  environment: { name: string; value: string }[];
  commandInput: string;
  catchUpPolicy: CatchUpPolicy;
  catchUpWindowSeconds: number;
  enabled: boolean;
  maxRetries: number;
  retryDelaySeconds: number;
  retryBackoff: RetryBackoff;
  retryMaxDelaySeconds: number;
  jitterSeconds: number;
  /** Empty for none. */
  maxRuns: number | "";
  pauseAfterFailures: number | "";
  timeoutSeconds: number;
  overlapPolicy: OverlapPolicy;
  /** datetime-local values, in the browser's zone; "" for none. */
  startAt: string;
  endAt: string;
  notifications: RuleDraft[];
  tags: string[];
}

/// A new rule: failures and recoveries to `channelId`.
export function newRule(channelId = ""): RuleDraft {
  return {
    channelId,
    on: ["failure", "recovery"],
    afterFailures: 1,
    realertMinutes: "",
    slowSeconds: "",
    missedGraceSeconds: 60,
  };
}

function ruleDraft(r: NotifyRule): RuleDraft {
  return { ...r, on: [...r.on], realertMinutes: r.realertMinutes ?? "", slowSeconds: r.slowSeconds ?? "" };
}

/// Why a rule cannot be sent, or null: what the server would refuse without asking it.
export function ruleError(r: RuleDraft): string | null {
  if (r.channelId === "") return "choose a channel";
  if (r.on.length === 0) return "choose at least one event";
  if (r.on.includes("recovery") && !r.on.includes("failure"))
    return "a recovery follows a failure: choose failure too";
  if (r.on.includes("slow") && r.slowSeconds === "") return "say after how many seconds a run is slow";
  return null;
}

export const cronPresets = [
  { label: "Every 10 seconds", value: "*/10 * * * * *" },
  { label: "Every minute", value: "* * * * *" },
  { label: "Every 5 minutes", value: "*/5 * * * *" },
  { label: "Every hour", value: "0 * * * *" },
  { label: "Daily at 09:00", value: "0 9 * * *" },
  { label: "Daily at midnight", value: "0 0 * * *" },
  { label: "Mondays at 09:00", value: "0 9 * * 1" },
  { label: "Last day of the month, 18:00", value: "0 18 L * *" },
];

export function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

export function draftFrom(task: Task | null, functions: string[] = []): TaskDraft {
  return {
    name: task?.name ?? "",
    cronExpression: task?.cronExpression ?? "0 9 * * *",
    timezone: task?.timezone ?? browserTimeZone(),
    type: task?.type ?? "function",
    functionName: task?.functionName ?? functions[0] ?? "",
    functionPayload: task?.functionPayload ?? "",
    httpMethod: task?.httpMethod ?? "GET",
    httpUrl: task?.httpUrl ?? "",
    httpHeaders: task?.httpHeaders ?? "",
    httpBody: task?.httpBody ?? "",
    commandLines: (task?.command ?? []).join("\n"),
    workingDirectory: task?.workingDirectory ?? "",
    environment: Object.entries(task?.environment ?? {}).map(([name, value]) => ({ name, value })),
    commandInput: task?.commandInput ?? "",
    catchUpPolicy: task?.catchUpPolicy ?? "none",
    catchUpWindowSeconds: task?.catchUpWindowSeconds ?? 86400,
    enabled: task?.enabled ?? true,
    maxRetries: task?.maxRetries ?? 0,
    retryDelaySeconds: task?.retryDelaySeconds ?? 60,
    retryBackoff: task?.retryBackoff ?? "fixed",
    retryMaxDelaySeconds: task?.retryMaxDelaySeconds ?? 3600,
    jitterSeconds: task?.jitterSeconds ?? 0,
    maxRuns: task?.maxRuns ?? "",
    pauseAfterFailures: task?.pauseAfterFailures ?? "",
    timeoutSeconds: task?.timeoutSeconds ?? 300,
    overlapPolicy: task?.overlapPolicy ?? "allow",
    startAt: localInput(task?.startAt ?? null),
    endAt: localInput(task?.endAt ?? null),
    notifications: (task?.notifications ?? []).map(ruleDraft),
    tags: [...(task?.tags ?? [])],
  };
}

/// An instant as a datetime-local input shows it (the browser's zone), or "".
export function localInput(ms: number | null): string {
  if (ms === null) return "";
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/// A datetime-local value as epoch ms, or null when empty.
export function fromLocalInput(value: string): number | null {
  return value === "" ? null : new Date(value).getTime();
}

/// Why `text` is not valid JSON, or null if it is (or is empty: the field is optional).
export function jsonError(text: string): string | null {
  if (text.trim() === "") return null;
  try {
    JSON.parse(text);
    return null;
  } catch (e) {
    return `not valid JSON: ${(e as Error).message}`;
  }
}

/// Why `text` is not a JSON object of strings (HTTP headers), or null.
export function headersError(text: string): string | null {
  const syntax = jsonError(text);
  if (syntax || text.trim() === "") return syntax;
  const value = JSON.parse(text) as unknown;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return 'must be a JSON object such as {"Authorization": "Bearer ..."}';
  }
  const bad = Object.entries(value).find(([, v]) => typeof v !== "string");
  return bad ? `the value of ${bad[0]} must be a string` : null;
}

/// The argv that `lines` (one argument per line) stands for: the exact array the server
/// runs. Lines are taken as they are (spaces kept); a final line break ends the last one.
export function argvFrom(lines: string): string[] {
  if (lines === "") return [];
  const argv = lines.split("\n");
  if (argv[argv.length - 1] === "") argv.pop();
  return argv;
}

const variableName = /^[A-Za-z_][A-Za-z0-9_]*$/;

/// Why the environment rows cannot be sent, or null: names as the server takes them.
export function environmentError(rows: { name: string; value: string }[]): string | null {
  const seen = new Set<string>();
  for (const { name } of rows) {
    if (name === "") return "every variable needs a name";
    if (!variableName.test(name)) {
      return `${name} is not a variable name (letters, digits and _, not starting with a digit)`;
    }
    if (name.startsWith("CRONKIT_")) return `${name}: cronkit sets the CRONKIT_ variables itself`;
    if (seen.has(name)) return `${name} is set twice`;
    seen.add(name);
  }
  return null;
}

const tagPattern = /^[A-Za-z0-9._/:-]{1,64}$/;

/// Why `tags` cannot be sent, or null: the server's rule for each tag.
export function tagsError(tags: string[]): string | null {
  if (tags.length > 20) return "at most 20 tags";
  const bad = tags.find((t) => !tagPattern.test(t));
  if (bad !== undefined) {
    return `"${bad}" is not a tag: 1 to 64 characters of letters, digits, -, _, ., / and :`;
  }
  return null;
}

/// Errors the browser can tell before sending, by field.
export function localErrors(d: TaskDraft): Record<string, string> {
  const errors: Record<string, string> = {};
  if (d.name.trim() === "") errors.name = "is required";
  if (d.cronExpression.trim() === "") errors.cronExpression = "is required";
  const tags = tagsError(d.tags);
  if (tags) errors.tags = tags;
  const start = fromLocalInput(d.startAt);
  const end = fromLocalInput(d.endAt);
  if (start !== null && end !== null && end < start) errors.endAt = "must not be before the start";
  const channels = d.notifications.map((r) => r.channelId);
  d.notifications.forEach((r, i) => {
    const problem =
      ruleError(r) ?? (channels.indexOf(r.channelId) < i ? "this channel has a rule already" : null);
    if (problem && !errors.notifications) errors.notifications = `rule ${i + 1}: ${problem}`;
  });
  if (d.type === "function") {
    const payload = jsonError(d.functionPayload);
    if (payload) errors.functionPayload = payload;
  } else if (d.type === "command") {
    const argv = argvFrom(d.commandLines);
    if (argv.length === 0 || argv[0].trim() === "") errors.command = "the program is required (first line)";
    if (d.workingDirectory.trim() !== "" && !d.workingDirectory.trim().startsWith("/")) {
      errors.workingDirectory = "must be an absolute path";
    }
    const env = environmentError(d.environment);
    if (env) errors.environment = env;
  } else {
    if (d.httpUrl.trim() === "") errors.httpUrl = "is required";
    const headers = headersError(d.httpHeaders);
    if (headers) errors.httpHeaders = headers;
  }
  return errors;
}

const orNull = (s: string) => (s.trim() === "" ? null : s);

/// The body of the POST (create) or PUT (update): every editable field, those of the
/// other task types as null so that a type change leaves nothing behind.
export function requestBody(d: TaskDraft): Record<string, unknown> {
  const fn = d.type === "function";
  const http = d.type === "http";
  const cmd = d.type === "command";
  return {
    name: d.name.trim(),
    cronExpression: d.cronExpression.trim(),
    timezone: d.timezone.trim() || "UTC",
    type: d.type,
    functionName: fn ? orNull(d.functionName) : null,
    functionPayload: fn ? orNull(d.functionPayload) : null,
    httpMethod: http ? d.httpMethod : null,
    httpUrl: http ? d.httpUrl.trim() : null,
    httpHeaders: http ? orNull(d.httpHeaders) : null,
    httpBody: http ? orNull(d.httpBody) : null,
    command: cmd ? argvFrom(d.commandLines) : null,
    workingDirectory: cmd ? orNull(d.workingDirectory.trim()) : null,
    environment:
      cmd && d.environment.length > 0
        ? Object.fromEntries(d.environment.map((v) => [v.name, v.value]))
        : null,
    commandInput: cmd && d.commandInput !== "" ? d.commandInput : null,
    catchUpPolicy: d.catchUpPolicy,
    catchUpWindowSeconds: Number(d.catchUpWindowSeconds),
    enabled: d.enabled,
    maxRetries: Number(d.maxRetries),
    retryDelaySeconds: Number(d.retryDelaySeconds),
    retryBackoff: d.retryBackoff,
    retryMaxDelaySeconds: Number(d.retryMaxDelaySeconds),
    jitterSeconds: Number(d.jitterSeconds),
    maxRuns: d.maxRuns === "" ? null : Number(d.maxRuns),
    pauseAfterFailures: d.pauseAfterFailures === "" ? null : Number(d.pauseAfterFailures),
    timeoutSeconds: Number(d.timeoutSeconds),
    overlapPolicy: d.overlapPolicy,
    startAt: fromLocalInput(d.startAt),
    endAt: fromLocalInput(d.endAt),
    notifications: d.notifications.map((r) => ({
      channelId: r.channelId,
      on: [...r.on],
      afterFailures: Number(r.afterFailures),
      realertMinutes: r.realertMinutes === "" ? null : Number(r.realertMinutes),
      slowSeconds: r.slowSeconds === "" ? null : Number(r.slowSeconds),
      missedGraceSeconds: Number(r.missedGraceSeconds),
    })),
    tags: [...d.tags],
  };
}
