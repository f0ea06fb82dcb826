// The REST API: the envelope unwrapped, errors thrown as ApiError with the fields at fault,
// and the bearer token, which lives in memory and, if the user asks, in sessionStorage
// (never localStorage: it must not outlive the browser session).
import type { FieldError } from "./types";

const STORAGE_KEY = "cronkit.token";

let token: string | null = null;
try {
  token = sessionStorage.getItem(STORAGE_KEY);
} catch {
  token = null; // storage blocked: memory only
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly fields: FieldError[] = [],
  ) {
    super(message);
  }

  /// The message for one field, if the server named it.
  field(name: string): string | undefined {
    return this.fields.find((f) => f.field === name)?.message;
  }
}

type Listener = () => void;
const unauthorizedListeners = new Set<Listener>();

/// Called on every 401, so that the app can show the login.
export function onUnauthorized(listener: Listener): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

export function setToken(value: string | null, remember: boolean) {
  token = value;
  try {
    if (value && remember) sessionStorage.setItem(STORAGE_KEY, value);
    else sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // memory only
  }
}

export function authHeaders(): Record<string, string> {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json", ...authHeaders() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "the server cannot be reached");
  }
  let envelope: { code: number; message: string; data: unknown } | undefined;
  try {
    envelope = await res.json();
  } catch {
    envelope = undefined;
  }
  if (res.status === 401) unauthorizedListeners.forEach((l) => l());
  if (!res.ok || !envelope || envelope.code !== 0) {
    const fields = Array.isArray(envelope?.data) ? (envelope.data as FieldError[]) : [];
    throw new ApiError(res.status, envelope?.message ?? `HTTP ${res.status}`, fields);
  }
  return envelope.data as T;
}
