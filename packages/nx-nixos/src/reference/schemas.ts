import { existsSync, readFileSync } from 'node:fs';
import { join, normalize, sep } from 'node:path';

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

/**
 * Schema texts not yet written, keyed by their path in the package (e.g. "src/executors/hygiene/schema.json"):
 * what `npm run reference` is about to write, so that the docs it renders in the same run describe them.
 */
export type PendingSchemas = Readonly<Record<string, string>>;

/** Every executor of the package, from executors.json and each schema.json. */
export function readExecutors(packageRoot = PACKAGE_ROOT, pending: PendingSchemas = {}): ExecutorEntry[] {
  return readCollection(packageRoot, 'executors.json', 'executors', pending);
}

/** Every generator of the package, from generators.json and each schema.json. */
export function readGenerators(packageRoot = PACKAGE_ROOT, pending: PendingSchemas = {}): ExecutorEntry[] {
  return readCollection(packageRoot, 'generators.json', 'generators', pending);
}

/**
 * The package path of a schema the manifest names: its source under src/ when the package has its sources
 * (this repository: the copy in dist/ is only as new as the last build), else the compiled copy.
 */
function schemaPath(packageRoot: string, manifestPath: string): string {
  const path = normalize(manifestPath);
  const source = path.startsWith(`dist${sep}`) ? join('src', path.slice('dist'.length + 1)) : undefined;
  return source !== undefined && existsSync(join(packageRoot, source)) ? source : path;
}

function readCollection(packageRoot: string, file: string, key: string, pending: PendingSchemas): ExecutorEntry[] {
  const manifest = JSON.parse(readFileSync(join(packageRoot, file), 'utf8')) as Record<string, Record<string, { schema: string; description: string }>>;
  return Object.entries(manifest[key])
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, entry]) => {
      const path = schemaPath(packageRoot, entry.schema);
      const text = pending[path.split(sep).join('/')] ?? readFileSync(join(packageRoot, path), 'utf8');
      return { name, description: entry.description, schema: JSON.parse(text) as ExecutorSchema };
    });
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
