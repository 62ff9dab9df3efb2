import { z } from 'zod';

/** The JSON Schema keywords an executor's schema.json keeps: those Nx validates with and the reference shows. */
const KEPT = ['type', 'enum', 'items', 'properties', 'required', 'additionalProperties', 'default', 'description'];

type Json = Record<string, unknown>;

function project(node: Json): Json {
  const anyOf = node.anyOf as Json[] | undefined;
  // zod writes `z.union([z.enum([...]), z.literal(x)])` as anyOf; one enum says the same to Nx and to readers.
  if (anyOf?.every((n) => n.type === 'string' && (n.enum || n.const !== undefined)))
    return project({ ...node, anyOf: undefined, type: 'string', enum: anyOf.flatMap((n) => (n.enum as unknown[]) ?? [n.const]) });
  const out: Json = {};
  for (const key of KEPT) {
    const value = node[key];
    if (value === undefined) continue;
    if (key === 'properties') out[key] = Object.fromEntries(Object.entries(value as Record<string, Json>).map(([k, v]) => [k, project(v)]));
    else if ((key === 'items' || key === 'additionalProperties') && typeof value === 'object') out[key] = project(value as Json);
    else out[key] = value;
  }
  return out;
}

/** The schema.json of an executor whose options are the zod object `schema` (title and description from its meta). */
export function executorSchemaText(schema: z.ZodType): string {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Json;
  const { title, description, ...rest } = json;
  const body = { $schema: 'https://json-schema.org/schema', version: 2, outputCapture: 'pipe', title, description, ...project(rest) };
  return JSON.stringify(body, null, 2) + '\n';
}
