// /api/openapi.json is checked against the running server: every operation is called and
// its answer must match the schema documented for its status.
import { test } from "node:test";
import assert from "node:assert/strict";
import { eventually, serverForFile } from "./server.mjs";

const BOOT = "openapi-bootstrap-token-0123456789";
const t = serverForFile({ env: { CRONKIT_API_TOKEN: BOOT } });
const auth = { authorization: `Bearer ${BOOT}` };
let doc; // fetched by the test

// The subset of JSON Schema the document uses: $ref, allOf, type (with "null"), enum,
// required, properties, additionalProperties: false, items, minimum, maximum, minLength,
// maxLength.
function check(schema, value, where = "$") {
  if (schema.$ref) return check(resolve(schema.$ref), value, where);
  if (schema.allOf) return schema.allOf.flatMap((part) => check(part, value, where));
  const problems = [];
  const types = schema.type === undefined ? [] : [].concat(schema.type);
  const kind =
    value === null
      ? "null"
      : Array.isArray(value)
        ? "array"
        : Number.isInteger(value)
          ? "integer"
          : typeof value;
  if (types.length && !types.includes(kind) && !(kind === "integer" && types.includes("number"))) {
    return [`${where}: ${kind} is not ${types.join("|")}`];
  }
  if (schema.enum && !schema.enum.includes(value)) problems.push(`${where}: ${value} not in enum`);
  if (typeof value === "number") {
    if (schema.minimum !== undefined && value < schema.minimum) problems.push(`${where}: below minimum`);
    if (schema.maximum !== undefined && value > schema.maximum) problems.push(`${where}: above maximum`);
  }
  if (kind === "object") {
    for (const r of schema.required ?? []) if (!(r in value)) problems.push(`${where}.${r}: missing`);
    for (const [k, v] of Object.entries(value)) {
      if (schema.properties?.[k]) problems.push(...check(schema.properties[k], v, `${where}.${k}`));
      else if (schema.additionalProperties === false) problems.push(`${where}.${k}: not allowed`);
    }
  }
  if (kind === "array" && schema.items) {
    value.forEach((v, i) => problems.push(...check(schema.items, v, `${where}[${i}]`)));
  }
  return problems;
}

function resolve(ref) {
  return ref
    .split("/")
    .slice(1)
    .reduce((o, k) => o[k], doc);
}

async function conforms(method, path, template, res) {
  const op = doc.paths[template][method.toLowerCase()];
  assert.ok(op, `${method} ${template} is documented`);
  const documented = op.responses[String(res.status)];
  assert.ok(documented, `${method} ${path}: status ${res.status} is documented (${res.text.slice(0, 200)})`);
  const [type, media] = Object.entries(documented.content)[0];
  assert.ok(res.headers.get("content-type").startsWith(type), `${method} ${path}: content type`);
  if (type === "application/json") {
    assert.deepEqual(check(media.schema, res.json), [], `${method} ${path}`);
  }
}

test("every documented operation answers as documented", async () => {
  doc = (await t.api("GET", "/api/openapi.json", undefined, auth)).json;
  const fn = {
    name: "documented",
    cronExpression: "* * * * * *",
    type: "function",
    functionName: "cleanup-logs",
  };
  const calls = [];
  const call = async (method, template, target, body, headers = auth) => {
    const res = await t.api(method, target, body, headers);
    await conforms(method, target, template, res);
    calls.push(`${method} ${template}`);
    return res;
  };
  const task = (await call("POST", "/api/scheduler/tasks", "/api/scheduler/tasks", fn)).json.data;
  const path = `/api/scheduler/tasks/${task.id}`;
  await call("GET", "/api/scheduler/tasks", "/api/scheduler/tasks?pageSize=5");
  await call("GET", "/api/scheduler/tasks/{id}", path);
  await call("PUT", "/api/scheduler/tasks/{id}", path, { name: "renamed" });
  const run = (await call("POST", "/api/scheduler/tasks/{id}/trigger", `${path}/trigger`)).json.data;
  await eventually(
    async () =>
      (await t.api("GET", `/api/scheduler/executions/${run.executionId}`, undefined, auth)).json.data
        .status === "success",
  );
  await call("GET", "/api/scheduler/executions/{id}", `/api/scheduler/executions/${run.executionId}`);
  await call("GET", "/api/scheduler/executions", `/api/scheduler/executions?taskId=${task.id}`);
  await call("GET", "/api/scheduler/tasks/{id}", path); // now with history
  const hour = Math.floor(Date.now() / 1000) * 1000;
  await call(
    "GET",
    "/api/scheduler/tasks/{id}/backfill/preview",
    `${path}/backfill/preview?from=${hour - 5000}&to=${hour}`,
  );
  await call("POST", "/api/scheduler/tasks/{id}/backfill", `${path}/backfill`, {
    from: hour - 3000,
    to: hour,
  });
  await call("POST", "/api/scheduler/tasks/{id}/backfill", `${path}/backfill`, { from: hour, to: hour - 1 });
  await call("POST", "/api/scheduler/tasks/{id}/toggle", `${path}/toggle`, { enabled: false });
  await call("GET", "/api/scheduler/stats", "/api/scheduler/stats");
  const applied = { tasks: [{ ...fn, name: "applied", tags: ["team:doc"] }], selector: ["team:doc"] };
  await call("POST", "/api/scheduler/apply", "/api/scheduler/apply", applied);
  await call("POST", "/api/scheduler/apply", "/api/scheduler/apply", { ...applied, dryRun: true });
  await call("GET", "/api/scheduler/export", "/api/scheduler/export?tag=team:doc");
  await call("GET", "/api/scheduler/export", "/api/scheduler/export?tag=no%20tag");
  await call("POST", "/api/scheduler/apply", "/api/scheduler/apply", { tasks: [{ name: "" }] });
  await call("POST", "/api/scheduler/tasks", "/api/scheduler/tasks", { ...fn, name: "twice" });
  await call("POST", "/api/scheduler/tasks", "/api/scheduler/tasks", { ...fn, name: "twice" });
  await call("POST", "/api/scheduler/apply", "/api/scheduler/apply", { tasks: [{ ...fn, name: "twice" }] });
  await call("POST", "/api/scheduler/cron/preview", "/api/scheduler/cron/preview", {
    cronExpression: "@hourly",
  });
  const channel = (
    await call("POST", "/api/scheduler/channels", "/api/scheduler/channels", {
      name: "documented",
      type: "webhook",
      url: `${t.server.base}/healthz`,
      headers: { "X-Team": "ops" },
      secret: "0123456789abcdef",
    })
  ).json.data;
  const channelPath = `/api/scheduler/channels/${channel.id}`;
  await call("GET", "/api/scheduler/channels", "/api/scheduler/channels");
  await call("GET", "/api/scheduler/channels/{id}", channelPath);
  await call("PUT", "/api/scheduler/channels/{id}", channelPath, { name: "renamed", secret: null });
  // The server's own /healthz answers a POST with 404: a delivery that failed, documented.
  const tested = await call("POST", "/api/scheduler/channels/{id}/test", `${channelPath}/test`);
  assert.equal(tested.json.data.delivered, false);
  await call("GET", "/api/scheduler/deliveries", `/api/scheduler/deliveries?channelId=${channel.id}`);
  await call("GET", "/api/scheduler/deliveries", "/api/scheduler/deliveries?status=sent");
  await call("PUT", "/api/scheduler/channels/{id}", channelPath, { type: "slack" });
  await call("DELETE", "/api/scheduler/channels/{id}", channelPath);
  await call("GET", "/api/scheduler/channels/{id}", channelPath);
  await call("GET", "/api/openapi.json", "/api/openapi.json");
  await call("GET", "/metrics", "/metrics");
  await call("GET", "/healthz", "/healthz");
  await call("GET", "/readyz", "/readyz");
  await call("DELETE", "/api/scheduler/tasks/{id}", path);
  // Documented errors answer with the error schema.
  await call("GET", "/api/scheduler/tasks/{id}", path);
  await call("POST", "/api/scheduler/tasks", "/api/scheduler/tasks", { name: "" });
  await call("POST", "/api/scheduler/cron/preview", "/api/scheduler/cron/preview", {
    cronExpression: "99 * * * *",
  });
  await call("GET", "/api/scheduler/executions", "/api/scheduler/executions?status=nope");

  // Tokens: made, listed, refused a role, revoked; and who is asking.
  const token = (
    await call("POST", "/api/scheduler/tokens", "/api/scheduler/tokens", {
      name: "documented",
      role: "viewer",
    })
  ).json.data;
  await call("POST", "/api/scheduler/tokens", "/api/scheduler/tokens", {
    name: "documented",
    role: "viewer",
  });
  await call("POST", "/api/scheduler/tokens", "/api/scheduler/tokens", { name: "", role: "root" });
  await call("GET", "/api/scheduler/tokens", "/api/scheduler/tokens");
  await call("GET", "/api/scheduler/me", "/api/scheduler/me");
  await call("GET", "/api/scheduler/me", "/api/scheduler/me", undefined, {
    authorization: `Bearer ${token.token}`,
  });
  await call("GET", "/api/scheduler/tokens", "/api/scheduler/tokens", undefined, {
    authorization: `Bearer ${token.token}`,
  });
  await call("GET", "/api/scheduler/audit", "/api/scheduler/audit", undefined, {
    authorization: `Bearer ${token.token}`,
  });
  await call("DELETE", "/api/scheduler/tokens/{id}", `/api/scheduler/tokens/${token.id}`);
  // The audit trail: every change above, and the refusals.
  await call("GET", "/api/scheduler/audit", "/api/scheduler/audit?pageSize=500");
  await call("GET", "/api/scheduler/audit", "/api/scheduler/audit?action=token&actor=bootstrap");
  await call("GET", "/api/scheduler/audit", "/api/scheduler/audit?action=bogus");
  await call("DELETE", "/api/scheduler/tokens/{id}", "/api/scheduler/tokens/no-such-token");
  await call("GET", "/api/scheduler/me", "/api/scheduler/me", undefined, {
    authorization: `Bearer ${token.token}`,
  });

  const stream = await fetch(t.server.base + "/api/scheduler/events", { headers: auth });
  assert.equal(stream.headers.get("content-type"), "text/event-stream");
  await stream.body.cancel();
  calls.push("GET /api/scheduler/events");

  const documented = Object.entries(doc.paths).flatMap(([p, item]) =>
    Object.keys(item)
      .filter((m) => m !== "parameters")
      .map((m) => `${m.toUpperCase()} ${p}`),
  );
  assert.deepEqual([...new Set(calls)].sort(), documented.sort(), "every operation was called");
});
