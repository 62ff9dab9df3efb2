import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const PACKAGE_ROOT = join(__dirname, '../..');

interface JsonSchemaProperty {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  items?: { type?: string };
  anyOf?: JsonSchemaProperty[];
  /** Nx: `{ "$source": "argv", "index": 0 }` takes the option from the first positional argument. */
  $default?: { $source?: string; index?: number };
  /** Filled in by Nx (e.g. the words after `--`), not an option people set: left out of the reference. */
  hidden?: boolean;
}

/** The options people set, without the hidden ones Nx fills in. */
export const visibleProperties = (schema: ExecutorSchema) => Object.entries(schema.properties ?? {}).filter(([, p]) => !p.hidden);

export interface ExecutorSchema {
  title?: string;
  description?: string;
  properties?: Record<string, JsonSchemaProperty>;
  required?: string[];
}

export interface ExecutorEntry {
  name: string;
  description: string;
  schema: ExecutorSchema;
}

/** Every executor of the package, from executors.json and each schema.json. */
export function readExecutors(packageRoot = PACKAGE_ROOT): ExecutorEntry[] {
  return readCollection(packageRoot, 'executors.json', 'executors');
}

/** Every generator of the package, from generators.json and each schema.json. */
export function readGenerators(packageRoot = PACKAGE_ROOT): ExecutorEntry[] {
  return readCollection(packageRoot, 'generators.json', 'generators');
}

function readCollection(packageRoot: string, file: string, key: string): ExecutorEntry[] {
  const manifest = JSON.parse(readFileSync(join(packageRoot, file), 'utf8')) as Record<string, Record<string, { schema: string; description: string }>>;
  return Object.entries(manifest[key])
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, entry]) => ({
      name,
      description: entry.description,
      schema: JSON.parse(readFileSync(join(packageRoot, entry.schema), 'utf8')) as ExecutorSchema,
    }));
}

export function typeOf(property: JsonSchemaProperty): string {
  if (property.enum) return property.enum.map((v) => JSON.stringify(v)).join(' \\| ');
  if (property.anyOf) return [...new Set(property.anyOf.map(typeOf))].join(' \\| ');
  const type = Array.isArray(property.type) ? property.type.join(' \\| ') : (property.type ?? 'any');
  return type === 'array' && property.items?.type ? `${property.items.type}[]` : type;
}

/** Options of one executor as terminal text: `--name` (type, default) description. */
export function executorHelp(entry: ExecutorEntry): string {
  const lines = [`${entry.name}: ${entry.schema.description ?? entry.description}`, '', 'Options (pass as --name=value to nx run, or set them in nx.json / project.json):'];
  for (const [name, property] of visibleProperties(entry.schema)) {
    const meta = [typeOf(property).replace(/\\\|/g, '|')];
    if (property.default !== undefined) meta.push(`default ${JSON.stringify(property.default)}`);
    lines.push(`  --${name} (${meta.join(', ')})`, `      ${property.description ?? ''}`);
  }
  return lines.join('\n') + '\n';
}
