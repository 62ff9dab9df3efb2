import { parseArgs } from 'node:util';

/** The part of an executor's schema.json that command-line flags are made from. */
export interface OptionSchema {
  type?: string;
  enum?: unknown[];
  default?: unknown;
  description?: string;
  items?: OptionSchema;
  additionalProperties?: boolean | OptionSchema;
}

/**
 * How a command maps its executor's options onto flags. By default an option `failLevel` is the flag
 * `--fail-level VALUE`, a list is a repeatable flag, a map is a repeatable `KEY=VALUE` flag, and a boolean is
 * `--name` (default false) or `--no-name` (default true). Lists of objects are set in nx.json only.
 */
export interface FlagsSpec {
  usage: string;
  /** The paragraphs between the usage line and the options. */
  intro: string;
  properties: Record<string, OptionSchema>;
  /** Options with a flag name of their own; `negated` flags set a boolean option to false. */
  rename?: Record<string, { flag: string; value?: string; negated?: boolean }>;
  /** Options that have no flag (set in nx.json, or taken from the positional argument). */
  omit?: string[];
  /** Flags that are not options of the executor, with their help line. */
  extra?: Record<string, { type: 'string' | 'boolean'; value?: string; help: string }>;
  /** The text after the options (exit codes, examples). */
  outro: string;
}

type FlagKind = 'value' | 'number' | 'list' | 'pairs' | 'on' | 'off';

export interface Flag {
  flag: string;
  property: string;
  kind: FlagKind;
  value?: string;
  schema: OptionSchema;
}

/** `largeFileWarnMiB` -> `large-file-warn-mib`. */
export const kebab = (name: string) =>
  name
    .replace(/([KM])iB/g, '$1IB')
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .toLowerCase();

function kindOf(schema: OptionSchema): FlagKind | undefined {
  if (schema.type === 'boolean') return schema.default === true ? 'off' : 'on';
  if (schema.type === 'number' || schema.type === 'integer') return 'number';
  if (schema.type === 'string') return 'value';
  if (schema.type === 'array' && schema.items?.type === 'string') return 'list';
  if (schema.type === 'object' && typeof schema.additionalProperties === 'object') return 'pairs';
  return undefined;
}

/** Every flag of a command, in the order of its options. */
export function flagsOf(spec: FlagsSpec): Flag[] {
  const flags: Flag[] = [];
  for (const [property, schema] of Object.entries(spec.properties)) {
    if (spec.omit?.includes(property)) continue;
    const kind = kindOf(schema);
    if (kind === undefined) continue;
    const renamed = spec.rename?.[property];
    if (renamed) {
      flags.push({ flag: renamed.flag, property, kind: renamed.negated ? 'off' : kind, value: renamed.value ?? defaultValueName(renamed.flag, kind, schema), schema });
      continue;
    }
    const flag = kind === 'off' ? `no-${kebab(property)}` : kebab(property);
    flags.push({ flag, property, kind, value: defaultValueName(flag, kind, schema), schema });
  }
  return flags;
}

/** The options that are set in nx.json only (no flag can carry them). */
export const configOnly = (spec: FlagsSpec) => Object.keys(spec.properties).filter((p) => !spec.omit?.includes(p) && kindOf(spec.properties[p]) === undefined);

function defaultValueName(flag: string, kind: FlagKind, schema: OptionSchema): string | undefined {
  if (kind === 'on' || kind === 'off') return undefined;
  if (kind === 'pairs') return 'KEY=VALUE';
  if (kind === 'number') return 'N';
  const values = (kind === 'list' ? schema.items?.enum : schema.enum) ?? undefined;
  if (values) return values.join('|');
  return flag.split('-').pop()!.toUpperCase();
}

function wrap(text: string, indent: number, width = 100): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && indent + line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/** `--help` of a command: usage, intro, every flag with its description and default, then the outro. */
export function helpText(spec: FlagsSpec): string {
  const rows: [string, string][] = flagsOf(spec).map((f) => {
    const repeat = f.kind === 'list' || f.kind === 'pairs' ? ' (repeatable)' : '';
    const fallback = f.schema.default === undefined || f.kind === 'on' || f.kind === 'off' ? '' : ` Default: ${JSON.stringify(f.schema.default)}.`;
    return [`--${f.flag}${f.value ? ` ${f.value}` : ''}`, `${f.schema.description ?? ''}${fallback}${repeat}`];
  });
  for (const [flag, extra] of Object.entries(spec.extra ?? {})) rows.push([`--${flag}${extra.value ? ` ${extra.value}` : ''}`, extra.help]);
  rows.push(['--help, -h', 'print this text']);
  const lines = [spec.usage, '', spec.intro, '', 'Options:'];
  for (const [name, help] of rows) {
    lines.push(`  ${name}`);
    for (const line of wrap(help, 6)) lines.push(`      ${line}`);
  }
  const onlyInConfig = configOnly(spec);
  if (onlyInConfig.length) lines.push('', `Set in nx.json only: ${onlyInConfig.join(', ')}.`);
  return [...lines, '', spec.outro].join('\n');
}

export interface ParsedFlags {
  help: boolean;
  positionals: string[];
  /** The executor options the flags set. */
  given: Record<string, unknown>;
  /** Values of the `extra` flags. */
  extra: Record<string, string | boolean | undefined>;
}

/** Parses argv against the spec; a wrong value is an error naming the flag and what it takes. */
export function parseFlags(spec: FlagsSpec, argv: string[]): ParsedFlags {
  const flags = flagsOf(spec);
  const config: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const f of flags) config[f.flag] = { type: f.kind === 'on' || f.kind === 'off' ? 'boolean' : 'string', multiple: f.kind === 'list' || f.kind === 'pairs' };
  for (const [flag, extra] of Object.entries(spec.extra ?? {})) config[flag] = { type: extra.type };
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: config });
  const given: Record<string, unknown> = {};
  for (const f of flags) {
    const value = values[f.flag];
    if (value !== undefined) given[f.property] = flagValue(f, value);
  }
  const extra: ParsedFlags['extra'] = {};
  for (const flag of Object.keys(spec.extra ?? {})) extra[flag] = values[flag] as string | boolean | undefined;
  return { help: values.help === true, positionals, given, extra };
}

function flagValue(f: Flag, given: string | boolean | (string | boolean)[]): unknown {
  switch (f.kind) {
    case 'on':
      return true;
    case 'off':
      return false;
    case 'number': {
      const n = Number(given);
      if (given === '' || !Number.isFinite(n)) throw new Error(`--${f.flag} ${String(given)}: expected a number.`);
      return n;
    }
    case 'value': {
      const value = given as string;
      if (f.schema.enum && !f.schema.enum.includes(value)) throw new Error(`--${f.flag} ${value}: expected one of ${f.schema.enum.join(', ')}.`);
      return value;
    }
    case 'list':
      return given;
    case 'pairs': {
      const map: Record<string, string> = {};
      for (const pair of given as string[]) {
        const [key, value, extra] = pair.split('=');
        if (!key || !value || extra !== undefined) throw new Error(`--${f.flag} ${pair}: expected ${f.value}.`);
        map[key] = value;
      }
      return map;
    }
  }
}

const isMap = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** Flags over configured options: a flag's list replaces the configured list, a flag's pairs are added to the configured map. */
export function overConfigured<T extends Record<string, unknown>>(configured: T, given: Record<string, unknown>): T {
  const merged: Record<string, unknown> = { ...configured };
  for (const [key, value] of Object.entries(given)) merged[key] = isMap(value) && isMap(configured[key]) ? { ...configured[key], ...value } : value;
  return merged as T;
}
