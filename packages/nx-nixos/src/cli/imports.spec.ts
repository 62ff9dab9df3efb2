import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { command } from './imports';

const root = resolve(__dirname, '../../test/fixtures/nix-imports');

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((s: string) => void out.push(s));
  const error = jest.spyOn(console, 'error').mockImplementation((s: string) => void err.push(s));
  const write = jest.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => (out.push(String(s)), true));
  try {
    return { code: await command.run(argv), out: out.join('\n'), err: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
    write.mockRestore();
  }
}

describe('nx-nixos imports', () => {
  it('prints dependencies and the closure as JSON', async () => {
    const r = await run([resolve(root, 'modules/shared'), '--root', root, '--json']);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.out);
    expect(json.files.map((f: { file: string }) => f.file)).toEqual(['modules/shared/default.nix', 'modules/shared/users.nix']);
    expect(json.files[0].dependencies).toEqual([{ kind: 'file', path: 'modules/shared/users.nix', line: 4, literal: './users.nix' }]);
    expect(json.files[0].closure.files).toEqual(['modules/shared/default.nix', 'modules/shared/users.nix']);
  });

  it('prints text with line numbers and external lookups', async () => {
    const r = await run([resolve(root, 'profiles/web/profile.nix'), '--root', root]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('folder modules/dynamic  (line 4: ../../modules/dynamic)');
    expect(r.out).toContain('external <nixpkgs/lib>  (line 2, search)');
    expect(r.out).toContain('closure: 12 files, 4 whole folders');
  });

  it('rejects a missing path and a path outside the root with exit 2', async () => {
    const missing = await run([resolve(root, 'nope.nix'), '--root', root]);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('nope.nix: no such file or folder');
    const outside = await run([resolve(root, '../hygiene/nix/clean.nix'), '--root', root]);
    expect(outside.code).toBe(2);
    expect(outside.err).toContain('is outside the root');
  });

  describe('files it must not or cannot read', () => {
    let ws: string;
    let outside: string;
    beforeEach(() => {
      ws = mkdtempSync(join(tmpdir(), 'imports-cli-'));
      outside = mkdtempSync(join(tmpdir(), 'imports-outside-'));
      mkdirSync(join(ws, 'lib'));
      writeFileSync(join(ws, 'lib/a.nix'), '{ imports = [ ./b.nix ]; }\n');
      writeFileSync(join(ws, 'lib/b.nix'), '{ }\n');
      writeFileSync(join(ws, '..dots.nix'), '{ x = ./lib/a.nix; }\n');
      writeFileSync(join(outside, 'evil.nix'), '{ leaked = ./LEAKED-PATH.nix; }\n');
    });
    afterEach(() => {
      rmSync(ws, { recursive: true, force: true });
      rmSync(outside, { recursive: true, force: true });
    });

    it('skips a dangling link, a FIFO and a link out of the root in a folder, names each on stderr, prints the rest', async () => {
      symlinkSync('/nonexistent/x.nix', join(ws, 'lib/dangling.nix'));
      execFileSync('mkfifo', [join(ws, 'lib/fifo.nix')]);
      symlinkSync(join(outside, 'evil.nix'), join(ws, 'lib/evil.nix'));
      const r = await run([join(ws, 'lib'), '--root', ws, '--json']);
      expect(r.code).toBe(0);
      const json = JSON.parse(r.out);
      expect(json.files.map((f: { file: string }) => f.file)).toEqual(['lib/a.nix', 'lib/b.nix']);
      expect(json.notRead).toEqual([
        { file: 'lib/dangling.nix', problem: 'is a symlink to nothing' },
        { file: 'lib/evil.nix', problem: 'is a symlink that leads outside the workspace' },
        { file: 'lib/fifo.nix', problem: 'is not a regular file (a FIFO)' },
      ]);
      expect(r.err).toContain('nx-nixos imports: lib/fifo.nix was not read: it is not a regular file (a FIFO).');
      expect(r.out + r.err).not.toContain('LEAKED');
    });

    it('lists no folder that a symlink leads to outside the root', async () => {
      mkdirSync(join(outside, 'mods'));
      writeFileSync(join(outside, 'mods/default.nix'), '{ }\n');
      writeFileSync(join(outside, 'mods/LEAKED-NAME.nix'), '{ }\n');
      symlinkSync(join(outside, 'mods'), join(ws, 'lib/linked'));
      writeFileSync(join(ws, 'lib/a.nix'), '{ imports = [ ./linked ]; x = ./linked + "/${"y"}"; }\n');
      const r = await run([join(ws, 'lib/a.nix'), '--root', ws, '--json']);
      expect(r.code).toBe(0);
      const [file] = JSON.parse(r.out).files;
      expect(file.dependencies.map((d: { kind: string; path: string }) => `${d.kind} ${d.path}`)).toEqual(['file lib/linked', 'folder lib']);
      expect(r.out).not.toContain('LEAKED-NAME');
    });

    it('exits 2 with the reason when the only file named cannot be read', async () => {
      execFileSync('mkfifo', [join(ws, 'lib/fifo.nix')]);
      const r = await run([join(ws, 'lib/fifo.nix'), '--root', ws]);
      expect(r.code).toBe(2);
      expect(r.err).toContain('lib/fifo.nix was not read: it is not a regular file (a FIFO).');
    });

    it('refuses an argument that is a link out of the root', async () => {
      symlinkSync(join(outside, 'evil.nix'), join(ws, 'evil.nix'));
      const r = await run([join(ws, 'evil.nix'), '--root', ws]);
      expect(r.code).toBe(2);
      expect(r.err).toContain(`is outside the root ${ws} (it leads to ${join(outside, 'evil.nix')})`);
    });

    it('takes a file named ..dots.nix at the root as inside it', async () => {
      const r = await run([join(ws, '..dots.nix'), '--root', ws, '--json']);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.out).files[0]).toMatchObject({ file: '..dots.nix', dependencies: [{ kind: 'file', path: 'lib/a.nix' }] });
    });
  });
});

