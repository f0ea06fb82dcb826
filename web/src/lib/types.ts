// The API's records, as docs/api.md describes them. Times are epoch milliseconds.

export type TaskType = "function" | "http";
export type OverlapPolicy = "allow" | "skip" | "replace";
export type ExecutionStatus = "queued" | "running" | "success" | "failed" | "timed_out" | "skipped";
export type Trigger = "schedule" | "manual" | "catch_up";

export interface Task {
  id: string;
  name: string;
  cronExpression: string;
  timezone: string;
  type: TaskType;
  functionName: string | null;
  functionPayload: string | null;
  httpMethod: string | null;
  httpUrl: string | null;
  httpHeaders: string | null;
  httpBody: string | null;
  catchUp: boolean;
  enabled: boolean;
  maxRetries: number;
  retryDelaySeconds: number;
  timeoutSeconds: number;
  overlapPolicy: OverlapPolicy;
  createdAt: number;
  updatedAt: number;
  nextRun?: number | null;
  lastStatus?: ExecutionStatus | null;
}

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
  /// In lists of executions: the task's name.
  taskName?: string | null;
}

export interface Page<T> {
  list: T[];
  total: number;
  page: number;
  pageSize: number;
}

export interface TaskPage extends Page<Task> {
  registeredFunctions: string[];
}

export interface Stats {
  totalTasks: number;
  enabledTasks: number;
  last24hExecutions: number;
  last24hFailures: number;
  running: number;
  queued: number;
  scheduledJobs: number;
}

export interface FieldError {
  field: string;
  message: string;
  column?: number;
}

export interface Preview {
  cronExpression: string;
  canonical: string;
  timezone: string;
  nextRuns: number[];
}
