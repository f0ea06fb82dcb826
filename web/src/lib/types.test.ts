// @vitest-environment node
// The UI's view of the API (types.ts) against the server's own description of it
// (src/api/openapi/openapi.json, which the server's tests hold equal to its routes): the
// same enums and the same field names, so that the two cannot drift apart unnoticed.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  channelFields,
  channelTypes,
  deliveryFields,
  deliveryStatuses,
  notifyEvents,
  notifyRuleFields,
  ruleEvents,
  executionFields,
  executionStatuses,
  httpMethods,
  overlapPolicies,
  retryBackoffs,
  catchUpPolicies,
  statsFields,
  taskFields,
  taskTypes,
  triggers,
} from "./types";

interface Schema {
  type?: string | string[];
  enum?: unknown[];
  properties?: Record<string, Schema>;
  items?: Schema;
  allOf?: Schema[];
  $ref?: string;
}
interface Operation {
  parameters?: { name: string; schema?: Schema }[];
  responses: Record<string, { content?: Record<string, { schema: Schema }> }>;
}

const spec = JSON.parse(
  readFileSync(new URL("../../../src/api/openapi/openapi.json", import.meta.url), "utf8"),
) as {
  components: { schemas: Record<string, Schema> };
  paths: Record<string, Record<string, Operation>>;
};
const schemas = spec.components.schemas;
const property = (schema: string, name: string): Schema => {
  const found = schemas[schema]?.properties?.[name];
  if (!found) throw new Error(`openapi.json: ${schema} has no property ${name}`);
  return found;
};
const values = (s: Schema) => (s.enum ?? []).filter((v) => v !== null);
const fields = (o: object) => Object.keys(o).sort();
const answer = (path: string, method: string): Schema => {
  const op = spec.paths[path]?.[method];
  const schema = op?.responses["200"]?.content?.["application/json"]?.schema;
  const data = schema?.properties?.data;
  if (!data) throw new Error(`openapi.json: no 200 answer with data for ${method} ${path}`);
  return data;
};
const parameter = (path: string, name: string): Schema => {
  const found = spec.paths[path]?.get?.parameters?.find((p) => p.name === name)?.schema;
  if (!found) throw new Error(`openapi.json: GET ${path} takes no ${name}`);
  return found;
};

describe("types.ts matches openapi.json", () => {
  it("offers exactly the values the server takes", () => {
    expect([...taskTypes]).toEqual(values(property("Task", "type")));
    expect([...taskTypes]).toEqual(values(property("TaskInput", "type")));
    expect([...overlapPolicies]).toEqual(values(property("TaskInput", "overlapPolicy")));
    expect([...retryBackoffs]).toEqual(values(property("TaskInput", "retryBackoff")));
    expect([...catchUpPolicies]).toEqual(values(property("TaskInput", "catchUpPolicy")));
    expect([...httpMethods]).toEqual(values(property("TaskInput", "httpMethod")));
    expect([...executionStatuses]).toEqual(values(property("Execution", "status")));
    expect([...executionStatuses]).toEqual(values(parameter("/api/scheduler/executions", "status")));
    expect([...triggers]).toEqual(values(property("Execution", "trigger")));
    expect([...channelTypes]).toEqual(values(property("Channel", "type")));
    expect([...channelTypes]).toEqual(values(property("ChannelInput", "type")));
    expect([...notifyEvents]).toEqual(values(property("Delivery", "event")));
    expect([...ruleEvents]).toEqual(values(property("NotifyRule", "on").items ?? {}));
    expect([...deliveryStatuses]).toEqual(values(property("Delivery", "status")));
    expect([...deliveryStatuses]).toEqual(values(parameter("/api/scheduler/deliveries", "status")));
  });

  it("names every field of a task, an execution and the stats as the server does", () => {
    expect(fields(taskFields)).toEqual(fields(schemas.Task?.properties ?? {}));
    expect(fields(statsFields)).toEqual(fields(schemas.Stats?.properties ?? {}));
    expect(fields(channelFields)).toEqual(fields(schemas.Channel?.properties ?? {}));
    expect(fields(deliveryFields)).toEqual(fields(schemas.Delivery?.properties ?? {}));
    expect(fields(notifyRuleFields)).toEqual(fields(schemas.NotifyRule?.properties ?? {}));
    // An execution in a list also carries its task's name.
    const listed = answer("/api/scheduler/executions", "get").properties?.list?.items?.allOf ?? [];
    const extra = Object.assign({}, ...listed.map((s) => s.properties ?? {})) as object;
    expect(fields(executionFields)).toEqual(fields({ ...schemas.Execution?.properties, ...extra }));
  });

  it("reads the stats answer as described", () => {
    expect(answer("/api/scheduler/stats", "get").$ref ?? "").toBe("#/components/schemas/Stats");
  });
});
