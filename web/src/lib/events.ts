// Server-Sent Events from /api/scheduler/events, read with fetch rather than EventSource,
// which cannot send the Authorization header. Reconnects after the server's retry delay.
import { authHeaders } from "./api";

export interface ServerEvent {
  event: string;
  data: unknown;
}

/// Splits a stream's text into complete events; returns them and the unfinished rest.
export function parseEvents(text: string): { events: ServerEvent[]; rest: string; retry?: number } {
  const events: ServerEvent[] = [];
  let retry: number | undefined;
  const blocks = text.replace(/\r\n?/g, "\n").split("\n\n");
  const rest = blocks.pop() ?? "";
  for (const block of blocks) {
    let event = "message";
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) continue; // a comment: the heartbeat
      const colon = line.indexOf(":");
      const name = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (name === "event") event = value;
      else if (name === "data") data.push(value);
      else if (name === "retry" && /^\d+$/.test(value)) retry = Number(value);
    }
    if (data.length === 0) continue;
    const joined = data.join("\n");
    let parsed: unknown = joined;
    try {
      parsed = JSON.parse(joined);
    } catch {
      // not JSON: passed on as text
    }
    events.push({ event, data: parsed });
  }
  return { events, rest, retry };
}

/// Listens until the returned function is called. `onState` hears whether the stream is
/// connected (the UI says so when it is not).
export function subscribe(
  onEvent: (e: ServerEvent) => void,
  onState: (connected: boolean) => void = () => {},
): () => void {
  const abort = new AbortController();
  let retryMs = 2000;
  const run = async () => {
    while (!abort.signal.aborted) {
      try {
        const res = await fetch("/api/scheduler/events", {
          headers: { Accept: "text/event-stream", ...authHeaders() },
          signal: abort.signal,
        });
        if (res.status === 401 || !res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        onState(true);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          const parsed = parseEvents(buffer + value);
          buffer = parsed.rest;
          if (parsed.retry !== undefined) retryMs = parsed.retry;
          parsed.events.forEach(onEvent);
        }
      } catch {
        // dropped, refused or unauthorized: wait and try again
      }
      if (abort.signal.aborted) return;
      onState(false);
      await new Promise((r) => setTimeout(r, retryMs));
    }
  };
  void run();
  return () => abort.abort();
}
