import { DEFAULT_OPTIONS, LAUNCH_SHARING_KEYS, PLUGIN_OPTION_SCHEMA, SHARING_KEYS, SHARING_OPTION_DOC } from '../plugin/options';
import { profileJsonSchema } from '../profile/schema';
import { PROFILE_SCHEMA_PATH } from '../layout';
import { PACKAGE_ROOT, readExecutors, readGenerators, typeOf, visibleProperties, type ExecutorEntry, type PendingSchemas } from './schemas';

const GENERATED = (source: string) =>
  `<!-- Generated from ${source} by \`npm run reference\`; edit the source, then run it again. -->`;

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function optionsTable(entry: ExecutorEntry): string[] {
  const rows = visibleProperties(entry.schema).map(
    ([name, p]) => `| \`${name}\` | ${typeOf(p)} | ${p.default === undefined ? '' : `\`${JSON.stringify(p.default)}\``} | ${cell(p.description ?? '')} |`,
  );
  return rows.length ? ['| option | type | default | description |', '|---|---|---|---|', ...rows] : ['No options.'];
}

/** "yes", "yes, positional (first argument)", "positional (first argument)" or "". */
function requirement(entry: ExecutorEntry, name: string): string {
  const index = entry.schema.properties?.[name]?.$default?.$source === 'argv' ? entry.schema.properties[name].$default?.index : undefined;
  const positional = index === undefined ? '' : `positional (${index === 0 ? 'first' : `number ${index + 1}`} argument)`;
  const required = entry.schema.required?.includes(name) ? 'yes' : '';
  return [required, positional].filter(Boolean).join(', ');
}

function generatorSection(entry: ExecutorEntry): string {
  const positional = Object.entries(entry.schema.properties ?? {})
    .filter(([, p]) => p.$default?.$source === 'argv')
    .sort(([, a], [, b]) => (a.$default?.index ?? 0) - (b.$default?.index ?? 0))
    .map(([name]) => ` <${name}>`)
    .join('');
  const rows = Object.entries(entry.schema.properties ?? {}).map(
    ([name, p]) =>
      `| \`${name}\` | ${typeOf(p)} | ${requirement(entry, name)} | ${p.default === undefined ? '' : `\`${JSON.stringify(p.default)}\``} | ${cell(p.description ?? '')} |`,
  );
  return [
    `## ${entry.name}`,
    '',
    `\`npx nx g @rave/nx-nixos:${entry.name}${positional}\`: ${entry.schema.description ?? entry.description}`,
    '',
    ...(rows.length ? ['| option | type | required | default | description |', '|---|---|---|---|---|', ...rows] : ['No options.']),
    '',
  ].join('\n');
}

/** docs/reference/generators.md */
export function generatorsReference(pending: PendingSchemas = {}): string {
  const generators = readGenerators(PACKAGE_ROOT, pending);
  return [
    '# Generators reference',
    '',
    GENERATED('packages/nx-nixos/src/generators/*/schema.json'),
    '',
    'Generators change files in the workspace; add `--dry-run` to see what they would write.',
    '',
    ...generators.map(generatorSection),
  ].join('\n');
}

function executorSection(entry: ExecutorEntry): string {
  return [
    `## ${entry.name}`,
    '',
    `Executor \`@rave/nx-nixos:${entry.name}\`. ${entry.schema.description ?? entry.description}`,
    '',
    ...optionsTable(entry),
    '',
    `Print them in a terminal: \`npx nx-nixos help ${entry.name}\`.`,
    '',
  ].join('\n');
}

/** The plugin option `sharing`, described by the build-image options it sets. */
function sharingSection(executors: ExecutorEntry[]): string[] {
  const buildImage = executors.find((e) => e.name === 'build-image');
  const launchKeys: readonly string[] = LAUNCH_SHARING_KEYS;
  const rows = SHARING_KEYS.map((key) => {
    const property = buildImage?.schema.properties?.[key];
    const targets = launchKeys.includes(key) ? 'build-image, vm-test, launch, start' : 'build-image, vm-test';
    return `| \`${key}\` | ${property ? typeOf(property) : ''} | ${targets} | ${cell(property?.description ?? '')} |`;
  });
  return [
    '## Plugin option sharing',
    '',
    'Binary caches, remote builders and pushing can be set once for every profile in the `@rave/nx-nixos` entry of',
    'nx.json `plugins`, e.g. `{ "plugin": "@rave/nx-nixos", "options": { "sharing": { "substituters": ["http://nix-cache.internal:8080"], "maxJobs": 0 } } }`.',
    'They become options of the inferred targets; `targetDefaults`, a project\'s own configuration and the command line',
    'override them. A key or value that does not fit fails the project graph with',
    '`nx.json: option "sharing.<key>" of plugin @rave/nx-nixos is invalid: <reason>`.',
    '',
    '| key | type | set on | description |',
    '|---|---|---|---|',
    ...rows,
    '',
  ];
}

/** docs/reference/executors.md */
export function executorsReference(pending: PendingSchemas = {}): string {
  const executors = readExecutors(PACKAGE_ROOT, pending);
  return [
    '# Executors reference',
    '',
    GENERATED('packages/nx-nixos/src/executors/*/schema.json'),
    '',
    'The plugin infers these targets; pass options on the command line',
    '(`npx nx run development:build-image --offline`) or set them for every project in',
    '`targetDefaults` of nx.json; the cache and builder options also for every profile in the',
    '[plugin option sharing](#plugin-option-sharing).',
    '',
    ...executors.map((e) => `- [${e.name}](#${e.name})`),
    '- [Plugin option sharing](#plugin-option-sharing)',
    '',
    ...executors.map(executorSection),
    ...sharingSection(executors),
  ].join('\n');
}

interface SchemaNode {
  type?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  properties?: Record<string, SchemaNode>;
  required?: string[];
  items?: SchemaNode;
  anyOf?: SchemaNode[];
  oneOf?: SchemaNode[];
  additionalProperties?: SchemaNode | boolean;
  propertyNames?: SchemaNode;
}

function describeType(node: SchemaNode): string {
  if (node.const !== undefined) return `\`${JSON.stringify(node.const)}\``;
  if (node.enum) return node.enum.map((v) => `\`${JSON.stringify(v)}\``).join(' \\| ');
  if (node.type === 'array') return `array of ${node.items ? describeType(node.items) : 'any'}`;
  if (node.type === 'object' && node.additionalProperties && typeof node.additionalProperties === 'object' && !node.properties)
    return `map of ${describeType(node.additionalProperties)}`;
  const variants = node.oneOf ?? node.anyOf;
  // Variants that are objects get rows of their own; plain ones are named inline.
  if (variants?.some((v) => v.properties)) return 'one of the variants below';
  if (variants) return [...new Set(variants.map(describeType))].join(' \\| ');
  return node.type ?? 'any';
}

function constraints(node: SchemaNode): string {
  const parts: string[] = [];
  if (node.pattern) parts.push(`pattern \`${node.pattern}\``);
  if (node.minimum !== undefined) parts.push(`min ${node.minimum}`);
  if (node.maximum !== undefined && node.maximum < Number.MAX_SAFE_INTEGER) parts.push(`max ${node.maximum}`);
  return parts.join(', ');
}

function rows(node: SchemaNode, prefix: string, out: string[]): void {
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    if (name === '$schema') continue;
    const path = prefix ? `${prefix}.${name}` : name;
    const required = node.required?.includes(name) && child.default === undefined ? 'yes' : '';
    const def = child.default === undefined ? '' : `\`${JSON.stringify(child.default)}\``;
    const notes = [child.description ?? '', constraints(child)].filter(Boolean).join(' ');
    out.push(`| \`${path}\` | ${describeType(child)} | ${required} | ${def} | ${cell(notes)} |`);
    if (child.properties) rows(child, path, out);
    if (child.type === 'array' && child.items?.properties) rows(child.items, `${path}[]`, out);
    for (const variant of child.oneOf ?? child.anyOf ?? []) if (variant.properties) rows(variant, `${path} (${JSON.stringify(variant.properties.kind?.const ?? '')})`, out);
  }
}

/** docs/reference/profile-json.md */
export function profileReference(): string {
  const schema = profileJsonSchema() as SchemaNode;
  const table: string[] = ['| field | type | required | default | description |', '|---|---|---|---|---|'];
  rows(schema, '', table);
  return [
    '# profile.json reference',
    '',
    GENERATED('packages/nx-nixos/src/profile/schema.ts'),
    '',
    '`profiles/<name>/profile.json` describes one NixOS profile. It is the single source of truth:',
    'the Nx plugin reads it (no Nix needed) and `flake.nix` reads it with `builtins.fromJSON`.',
    'Editors validate it through its JSON Schema,',
    `[${PROFILE_SCHEMA_PATH}](../../${PROFILE_SCHEMA_PATH}),`,
    'named by the `$schema` field. A file that does not match fails the project graph with the file,',
    'the JSON path and the reason.',
    '',
    ...table,
    '',
  ].join('\n');
}

/** docs/reference/plugin-options.md */
export function pluginOptionsReference(): string {
  const specs = { ...PLUGIN_OPTION_SCHEMA, sharing: SHARING_OPTION_DOC };
  const rows = Object.entries(specs).map(
    ([option, spec]) => `| \`${option}\` | \`${JSON.stringify(DEFAULT_OPTIONS[option as keyof typeof DEFAULT_OPTIONS])}\` | ${cell(spec.meaning)} | ${cell(spec.accepts)} |`,
  );
  return [
    '# Plugin options',
    '',
    GENERATED('packages/nx-nixos/src/plugin/options.ts'),
    '',
    'Options of the `@rave/nx-nixos` entry in `nx.json` `plugins`, e.g.',
    '`{ "plugin": "@rave/nx-nixos", "options": { "profilesDir": "vms" } }`. Every option is optional. Graph',
    'inference checks each one on every `nx` command; a wrong value stops the command with',
    '',
    '```text',
    'nx.json: option "<name>" of plugin @rave/nx-nixos is invalid: <reason>. <what to do>',
    '```',
    '',
    'instead of yielding an empty or half-built graph. An option the plugin does not know stops it too, listing the known ones.',
    '',
    '| option | default | meaning | accepted values |',
    '|---|---|---|---|',
    ...rows,
    '',
    'A profile whose name is already the name of another project of the plugin (a Nix module project,',
    '`repo`, `docs`) or of a `project.json`/`package.json` project fails the graph at its',
    '`profile.json` (`$.name`), and the profile generator refuses such a name. Two module folders that',
    'would get the same project name fail the graph too, naming both.',
    '',
    'Every glob option (`nixInputs`, `nixModuleGlobs`, `hygiene.profilePaths`, `hygiene.exclude`,',
    '`docsCheck.exclude`) is read in one dialect, described in [Globs](globs.md).',
    '',
  ].join('\n');
}

/** Each generated reference page and how to render it (given the schema texts about to be written). */
export const REFERENCE_FILES: Record<string, (pending: PendingSchemas) => string> = {
  'docs/reference/plugin-options.md': pluginOptionsReference,
  'docs/reference/executors.md': executorsReference,
  'docs/reference/profile-json.md': profileReference,
  'docs/reference/generators.md': generatorsReference,
};
