/** The part of JSON Schema the executors' schema.json files use. */
export interface SchemaNode {
  type?: string;
  enum?: unknown[];
  items?: SchemaNode;
  properties?: Record<string, SchemaNode>;
  required?: string[];
  additionalProperties?: boolean | SchemaNode;
}

const kind = (value: unknown) => (value === null ? 'null' : Array.isArray(value) ? 'a list' : typeof value === 'object' ? 'an object' : JSON.stringify(value)?.slice(0, 80));

const matchesType = (type: string, value: unknown) =>
  type === 'array' ? Array.isArray(value) : type === 'object' ? value !== null && typeof value === 'object' && !Array.isArray(value) : typeof value === type;

/** Why `value` does not fit `schema`, with the path of the first wrong part, or undefined when it fits. */
export function schemaProblem(schema: SchemaNode, value: unknown, path: string): { path: string; reason: string } | undefined {
  if (schema.type && !matchesType(schema.type, value)) return { path, reason: `expected ${schema.type === 'array' ? 'a list' : `a ${schema.type}`}, got ${kind(value)}` };
  if (schema.enum && !schema.enum.includes(value)) return { path, reason: `expected one of ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}, got ${kind(value)}` };
  if (Array.isArray(value) && schema.items) {
    for (let i = 0; i < value.length; i++) {
      const problem = schemaProblem(schema.items, value[i], `${path}[${i}]`);
      if (problem) return problem;
    }
  }
  if (schema.type === 'object' && value !== null && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    for (const key of schema.required ?? []) if (!(key in object)) return { path, reason: `"${key}" is missing` };
    for (const [key, item] of Object.entries(object)) {
      const property = schema.properties?.[key];
      const at = path ? `${path}.${key}` : key;
      if (property) {
        const problem = schemaProblem(property, item, at);
        if (problem) return problem;
      } else if (schema.additionalProperties === false) {
        return { path: at, reason: `unknown option (known: ${Object.keys(schema.properties ?? {}).join(', ')})` };
      } else if (typeof schema.additionalProperties === 'object') {
        const problem = schemaProblem(schema.additionalProperties, item, at);
        if (problem) return problem;
      }
    }
  }
  return undefined;
}
