import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { command, generatedFiles } from '../cli/reference';
import { DEFAULT_OPTIONS } from '../plugin/options';
import { captureConsole } from '../testing/console-capture';
import { executorsReference, pluginOptionsReference, profileReference } from './markdown';
import { readExecutors, readGenerators } from './schemas';

const REPO = join(__dirname, '../../../..');

describe('generated reference', () => {
  it.each(Object.keys(generatedFiles()))('%s is up to date (run `npm run reference` after changing a schema)', (path) => {
    expect(readFileSync(join(REPO, path), 'utf8')).toBe(generatedFiles()[path]);
  });

  it('documents every option of every executor, but not the hidden ones Nx fills in', () => {
    const text = executorsReference();
    for (const executor of readExecutors()) {
      expect(text).toContain(`## ${executor.name}`);
      for (const [option, property] of Object.entries(executor.schema.properties ?? {}))
        if (property.hidden) expect(text).not.toContain(`| \`${option}\` |`);
        else expect(text).toContain(`| \`${option}\` |`);
    }
  });

  it('documents every plugin option in a row of its own, with its default', () => {
    const text = pluginOptionsReference();
    for (const [option, value] of Object.entries(DEFAULT_OPTIONS)) expect(text).toContain(`| \`${option}\` | \`${JSON.stringify(value)}\` |`);
  });

  it('documents nested profile fields with types and defaults', () => {
    const text = profileReference();
    expect(text).toContain('| `resources.memoryMiB` | integer | yes |');
    expect(text).toContain('| `system` | string |  | `"x86_64-linux"` |');
    expect(text).toMatch(/\| `image \("kernel"\)\.cmdline` \| string \|/);
    expect(text).toMatch(/\| `ports\[\]\.host` \| integer \|/);
  });

  it('every executor option has a description', () => {
    for (const executor of readExecutors())
      for (const [option, property] of Object.entries(executor.schema.properties ?? {}))
        expect([executor.name, option, (property.description?.length ?? 0) > 10]).toEqual([executor.name, option, true]);
  });
});

describe('readExecutors', () => {
  let root: string;
  const schema = (description: string) => JSON.stringify({ properties: { level: { type: 'string', description } } });
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'reference-'));
    write('executors.json', JSON.stringify({ executors: { check: { schema: './dist/executors/check/schema.json', description: 'Check.' } } }));
    write('dist/executors/check/schema.json', schema('as last built'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const level = (entries: ReturnType<typeof readExecutors>) => entries[0].schema.properties?.level.description;

  it('reads the schema under src/ when the package has its sources, not the copy of the last build', () => {
    write('src/executors/check/schema.json', schema('as edited'));
    expect(level(readExecutors(root))).toBe('as edited');
  });

  it('reads the built copy in an installed package (no src/)', () => {
    expect(level(readExecutors(root))).toBe('as last built');
  });

  it('prefers a schema text about to be written over the file', () => {
    write('src/executors/check/schema.json', schema('as edited'));
    expect(level(readExecutors(root, { 'src/executors/check/schema.json': schema('as generated') }))).toBe('as generated');
  });

  it('reads every generator and executor of this package from src/', () => {
    for (const entry of [...readExecutors(), ...readGenerators()]) expect(entry.schema.properties).toBeDefined();
  });
});

describe('npm run reference', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'reference-root-'));
    for (const [path, text] of Object.entries(generatedFiles())) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
  });
  afterEach(() => {
    jest.restoreAllMocks();
    rmSync(root, { recursive: true, force: true });
  });

  it('renders the executors page from the executor schemas it generates in the same run', () => {
    const hygiene = 'packages/nx-nixos/src/executors/hygiene/schema.json';
    const generated = generatedFiles();
    const page = generated['docs/reference/executors.md'];
    for (const option of Object.keys((JSON.parse(generated[hygiene]) as { properties: object }).properties)) expect(page).toContain(`\`${option}\``);
  });

  it('--check passes when every generated file is current and names the one that is stale', async () => {
    const printed = captureConsole();
    expect(await command.run(['--check', '--root', root])).toBe(0);
    const stale = 'packages/nx-nixos/src/executors/docs-check/schema.json';
    writeFileSync(join(root, stale), '{}\n');
    expect(await command.run(['--check', '--root', root])).toBe(1);
    expect(printed.err).toContain(`Out of date: ${stale}.`);
    expect(readFileSync(join(root, stale), 'utf8')).toBe('{}\n');
    expect(await command.run(['--root', root])).toBe(0);
    expect(await command.run(['--check', '--root', root])).toBe(0);
  });
});
