// The API's records, as src/api/openapi/openapi.json describes them (types.test.ts holds the
// two equal: every enum and every field name). Times are epoch milliseconds.
//
// Each enum is a list of values first, so that forms and filters offer exactly what the
// server takes; each record's fields are listed once more as a value (`satisfies` makes
// the compiler hold that list equal to the interface), so that the test can compare them.

export const taskTypes = ["function", "http", "command"] as const;
export type TaskType = (typeof taskTypes)[number];
export const overlapPolicies = ["allow", "skip", "replace", "buffer_one", "buffer_all"] as const;
export type OverlapPolicy = (typeof overlapPolicies)[number];
export const retryBackoffs = ["fixed", "exponential"] as const;
export type RetryBackoff = (typeof retryBackoffs)[number];
export const catchUpPolicies = ["none", "latest", "all"] as const;
export type CatchUpPolicy = (typeof catchUpPolicies)[number];
export const httpMethods = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
export type HttpMethod = (typeof httpMethods)[number];
export const executionStatuses = ["queued", "running", "success", "failed", "timed_out", "skipped"] as const;
export type ExecutionStatus = (typeof executionStatuses)[number];
export const triggers = ["schedule", "manual", "catch-up", "backfill"] as const;
export type Trigger = (typeof triggers)[number];

export interface Task {
  id: string;
  name: string;
  cronExpression: string;
  timezone: string;
  type: TaskType;
  functionName: string | null;
  functionPayload: string | null;
  httpMethod: HttpMethod | null;
  httpUrl: string | null;
  httpHeaders: string | null;
  httpBody: string | null;
  /** Command tasks: the program and its arguments (argv), run without a shell. */
  command: string[] | null;
  workingDirectory: string | null;
  environment: Record<string, string> | null;
  commandInput: string | null;
  /** The seed's flag: true when catchUpPolicy is latest or all. */
  catchUp: boolean;
  catchUpPolicy: CatchUpPolicy;
  catchUpWindowSeconds: number;
  enabled: boolean;
  maxRetries: number;
  retryDelaySeconds: number;
  retryBackoff: RetryBackoff;
  retryMaxDelaySeconds: number;
  jitterSeconds: number;
  maxRuns: number | null;
  /** Scheduled firings so far, counted against maxRuns (read-only). */
  runCount: number;
  pauseAfterFailures: number | null;
  /** Where the task's failures, recoveries, slow runs, missed instants and self-pauses go. */
  notifications: NotifyRule[];
  /** Labels for finding and scoping tasks (team:payments), in the order given. */
  tags: string[];
  timeoutSeconds: number;
  overlapPolicy: OverlapPolicy;
  /** No firing before startAt or after endAt (epoch ms), when set. */
  startAt: number | null;
  endAt: number | null;
  createdAt: number;
  updatedAt: number;
  /** While paused: why (as given when pausing), and since when. */
  pausedNote: string | null;
  pausedAt: number | null;
  nextRun?: number | null;
  lastStatus?: ExecutionStatus | null;
}

type Fields<T> = { [K in keyof Required<T>]: true };

export const taskFields = {
  id: true,
  name: true,
  cronExpression: true,
  timezone: true,
  type: true,
  functionName: true,
  functionPayload: true,
  httpMethod: true,
  httpUrl: true,
  httpHeaders: true,
  httpBody: true,
  command: true,
  workingDirectory: true,
  environment: true,
  commandInput: true,
  catchUp: true,
  catchUpPolicy: true,
  catchUpWindowSeconds: true,
  enabled: true,
  maxRetries: true,
  retryDelaySeconds: true,
  retryBackoff: true,
  retryMaxDelaySeconds: true,
  jitterSeconds: true,
  maxRuns: true,
  runCount: true,
  pauseAfterFailures: true,
  notifications: true,
  tags: true,
  timeoutSeconds: true,
  overlapPolicy: true,
  startAt: true,
  endAt: true,
  createdAt: true,
  updatedAt: true,
  pausedNote: true,
  pausedAt: true,
  nextRun: true,
  lastStatus: true,
} as const satisfies Fields<Task>;

export interface Execution {
  id: string;
  taskId: string;
  status: ExecutionStatus;
  trigger: Trigger;
  scheduledFor: number;
  queuedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  errorMessage: string | null;
  resultSummary: string | null;
  output: string | null;
  attempts: number;
  durationMs: number | null;
  nodeId: string | null;
  /** In lists of executions: the task's name (null once the task is deleted). */
  taskName?: string | null;
}

export const executionFields = {
  id: true,
  taskId: true,
  status: true,
  trigger: true,
  scheduledFor: true,
  queuedAt: true,
  startedAt: true,
  finishedAt: true,
  errorMessage: true,
  resultSummary: true,
  output: true,
  attempts: true,
  durationMs: true,
  nodeId: true,
  taskName: true,
} as const satisfies Fields<Execution>;

export const channelTypes = ["webhook", "slack", "email"] as const;
export type ChannelType = (typeof channelTypes)[number];

/** A notification channel. Secrets are write-only: the server answers only whether they are set. */
export interface Channel {
  id: string;
  name: string;
  type: ChannelType;
  /** A Slack channel's without its path (the credential). */
  url: string;
  headerNames: string[];
  secretSet: boolean;
  /** Email: the sender, the recipients, the SMTP login and whether STARTTLS is required. */
  from: string | null;
  to: string[];
  username: string | null;
  passwordSet: boolean;
  startTls: boolean;
  createdAt: number;
  updatedAt: number;
}

export const channelFields = {
  id: true,
  name: true,
  type: true,
  url: true,
  headerNames: true,
  secretSet: true,
  from: true,
  to: true,
  username: true,
  passwordSet: true,
  startTls: true,
  createdAt: true,
  updatedAt: true,
} as const satisfies Fields<Channel>;

export const notifyEvents = ["test", "failure", "recovery", "slow", "missed", "paused"] as const;
export type NotifyEvent = (typeof notifyEvents)[number];
/** The events a task's notification rule can tell. */
export const ruleEvents = ["failure", "recovery", "slow", "missed", "paused"] as const;
export type RuleEvent = (typeof ruleEvents)[number];

/** One rule of a task: which of its events go to a channel, and when. */
export interface NotifyRule {
  channelId: string;
  on: RuleEvent[];
  /** failure: told at this many failed executions in a row. */
  afterFailures: number;
  /** failure: told again while failing, at most this often; null: once. */
  realertMinutes: number | null;
  /** slow: a run still running this long after it started. */
  slowSeconds: number | null;
  /** missed: an instant whose execution did not start within this grace. */
  missedGraceSeconds: number;
}

export const notifyRuleFields = {
  channelId: true,
  on: true,
  afterFailures: true,
  realertMinutes: true,
  slowSeconds: true,
  missedGraceSeconds: true,
} as const satisfies Fields<NotifyRule>;

export const deliveryStatuses = ["pending", "delivered", "failed"] as const;
export type DeliveryStatus = (typeof deliveryStatuses)[number];

/** A notification sent (or to be sent) to a channel. */
export interface Delivery {
  id: string;
  channelId: string;
  taskId: string | null;
  executionId: string | null;
  event: NotifyEvent;
  status: DeliveryStatus;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  summary: string;
  createdAt: number;
  finishedAt: number | null;
}

export const deliveryFields = {
  id: true,
  channelId: true,
  taskId: true,
  executionId: true,
  event: true,
  status: true,
  attempts: true,
  lastStatus: true,
  lastError: true,
  summary: true,
  createdAt: true,
  finishedAt: true,
} as const satisfies Fields<Delivery>;

/** The outcome of a test notification. */
export interface TestDelivery {
  delivered: boolean;
  deliveryId: string;
  status: number | null;
  error: string | null;
  durationMs: number;
}

export interface Page<T> {
  list: T[];
  total: number;
  page: number;
  pageSize: number;
}

/// Executions: newest first, paged by cursor; `total` is counted up to 10,000.
export interface ExecutionPage extends Page<Execution> {
  totalExact: boolean;
  nextCursor: string | null;
}

export interface TaskPage extends Page<Task> {
  registeredFunctions: string[];
}

export interface TaskDetail {
  task: Task;
  recentExecutions: Execution[];
}

export interface Stats {
  totalTasks: number;
  enabledTasks: number;
  last24hExecutions: number;
  last24hFailures: number;
  running: number;
  queued: number;
  scheduledJobs: number;
  /** The seed's name for scheduledJobs. */
  activeJobs: number;
}

export const statsFields = {
  totalTasks: true,
  enabledTasks: true,
  last24hExecutions: true,
  last24hFailures: true,
  running: true,
  queued: true,
  scheduledJobs: true,
  activeJobs: true,
} as const satisfies Fields<Stats>;

export interface FieldError {
  field: string;
  message: string;
  column?: number;
}

export interface Preview {
  cronExpression: string;
  canonical: string;
  timezone: string;
  jitterSeconds: number;
  nextRuns: number[];
  /** When each run starts (its instant plus the task's jitter delay), for a task's id. */
  startsAt?: number[];
}

/// What the audit trail records (GET /api/scheduler/audit).
export const auditActions = [
  "task.create",
  "task.update",
  "task.delete",
  "task.pause",
  "task.resume",
  "task.run",
  "task.backfill",
  "task.apply",
  "channel.create",
  "channel.update",
  "channel.delete",
  "channel.test",
  "token.create",
  "token.revoke",
  "auth.failed",
  "auth.forbidden",
] as const;
export type AuditAction = (typeof auditActions)[number];

export interface AuditEntry {
  id: string;
  at: number;
  /// A token's name, "bootstrap", "anonymous", "cronkit"; empty for a token not recognised.
  actor: string;
  address: string;
  action: AuditAction;
  targetId: string | null;
  targetName: string | null;
  /// What an update changed: each field's old and new value, secrets as "<hidden>".
  changes: Record<string, { old: unknown; new: unknown }> | null;
  detail: Record<string, unknown> | null;
}

export type AuditPage = Page<AuditEntry>;
