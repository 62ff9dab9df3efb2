import { resolve } from 'node:path';
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
});
