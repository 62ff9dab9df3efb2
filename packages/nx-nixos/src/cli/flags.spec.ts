import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readExecutors } from '../reference/schemas';
import { configOnly, flagsOf, helpText, kebab, overConfigured, parseFlags, type FlagsSpec, type OptionSchema } from './flags';

const REPO = join(__dirname, '../../../..');

const commands = async () => ({
  hygiene: (await import('./hygiene')).flagsSpec(),
  'docs-check': (await import('./docs-check')).flagsSpec(),
});

/** The `| `option` | `--flag ...` |` rows of a reference page's options table. */
function documentedFlags(page: string): Record<string, string> {
  const rows: Record<string, string> = {};
  for (const match of readFileSync(join(REPO, page), 'utf8').matchAll(/^\| `(\w+)` \| (?:`--([\w-]+)|.*?)[^|]*\|/gm)) rows[match[1]] = match[2] ?? '';
  return rows;
}

describe('command-line flags made from an executor schema', () => {
  const spec: FlagsSpec = {
    usage: 'Usage: t',
    intro: 'Intro.',
    outro: 'Outro.',
    properties: {
      failLevel: { type: 'string', enum: ['error', 'note'], default: 'error', description: 'Lowest severity.' },
      largeFileWarnMiB: { type: 'number', description: 'Size.' },
      readmes: { type: 'boolean', default: true, description: 'READMEs too.' },
      fix: { type: 'boolean', default: false, description: 'Fix.' },
      exclude: { type: 'array', items: { type: 'string' }, description: 'Globs.' },
      moved: { type: 'object', additionalProperties: { type: 'string' }, description: 'Moves.' },
      entries: { type: 'array', items: { type: 'object' }, description: 'Objects.' },
    },
    rename: { moved: { flag: 'moved', value: 'OLD=NEW' } },
  };

  it('names each flag after its option, negates booleans that default to true, and keeps lists of objects for nx.json', () => {
    expect(flagsOf(spec).map((f) => [f.flag, f.value])).toEqual([
      ['fail-level', 'error|note'],
      ['large-file-warn-mib', 'N'],
      ['no-readmes', undefined],
      ['fix', undefined],
      ['exclude', 'EXCLUDE'],
      ['moved', 'OLD=NEW'],
    ]);
    expect(configOnly(spec)).toEqual(['entries']);
    expect(kebab('maxScanKiB')).toBe('max-scan-kib');
  });

  it('parses values by type and names the flag when a value is wrong', () => {
    const parsed = parseFlags(spec, ['dir', '--fail-level', 'note', '--large-file-warn-mib', '7.5', '--no-readmes', '--exclude', 'a', '--exclude', 'b', '--moved', 'x.md=y.md']);
    expect(parsed).toEqual({ help: false, positionals: ['dir'], extra: {}, given: { failLevel: 'note', largeFileWarnMiB: 7.5, readmes: false, exclude: ['a', 'b'], moved: { 'x.md': 'y.md' } } });
    expect(() => parseFlags(spec, ['--fail-level', 'warning'])).toThrow('--fail-level warning: expected one of error, note.');
    expect(() => parseFlags(spec, ['--large-file-warn-mib', 'ten'])).toThrow('--large-file-warn-mib ten: expected a number.');
    expect(() => parseFlags(spec, ['--moved', 'x.md'])).toThrow('--moved x.md: expected OLD=NEW.');
    expect(() => parseFlags(spec, ['--entries', '[]'])).toThrow(/Unknown option '--entries'/);
  });

  it('lays flags over configured options: a list replaces, a map adds', () => {
    const configured = { exclude: ['c'], moved: { 'a.md': 'b.md' }, fix: true };
    expect(overConfigured(configured, { exclude: ['d'], moved: { 'x.md': 'y.md' } })).toEqual({ exclude: ['d'], moved: { 'a.md': 'b.md', 'x.md': 'y.md' }, fix: true });
  });

  it('--help lists every flag with its description and default, and what only nx.json sets', () => {
    const help = helpText(spec);
    for (const f of flagsOf(spec)) expect(help).toContain(`--${f.flag}`);
    expect(help).toContain('Lowest severity. Default: "error".');
    expect(help).toContain('Set in nx.json only: entries.');
  });

  it.each(['hygiene', 'docs-check'] as const)('%s: every option of the executor is a flag (or has a reason not to be), and its reference page names that flag', async (name) => {
    const command = (await commands())[name];
    const properties = readExecutors().find((e) => e.name === name)!.schema.properties as Record<string, OptionSchema>;
    expect(command.properties).toEqual(properties);
    const flags = Object.fromEntries(flagsOf(command).map((f) => [f.property, f.flag]));
    const documented = documentedFlags(`docs/reference/${name}.md`);
    for (const option of Object.keys(properties)) {
      if (command.omit?.includes(option) || configOnly(command).includes(option)) expect(documented[option]).toBe('');
      else expect([option, documented[option]]).toEqual([option, flags[option]]);
    }
    const help = helpText(command);
    for (const flag of Object.values(flags)) expect(help).toContain(`--${flag}`);
  });
});
