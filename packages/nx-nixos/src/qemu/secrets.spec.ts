import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSecrets } from './secrets';

describe('parseSecrets', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'nx-nixos-secrets-'));
    writeFileSync(join(dir, 'age.txt'), 'AGE-SECRET-KEY-1');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('resolves NAME=FILE relative to the working directory without reading the file', () => {
    expect(parseSecrets(['sops-age-key=age.txt'], dir)).toEqual([{ name: 'sops-age-key', file: join(dir, 'age.txt') }]);
  });

  it('rejects malformed values, bad names, duplicates and unreadable files precisely', () => {
    expect(() => parseSecrets(['age.txt'], dir)).toThrow('--secret "age.txt": expected NAME=FILE');
    expect(() => parseSecrets(['a/b=age.txt'], dir)).toThrow('--secret a/b: a credential name holds');
    expect(() => parseSecrets(['k=age.txt', 'k=age.txt'], dir)).toThrow('--secret k: given twice');
    expect(() => parseSecrets(['k=missing.txt'], dir)).toThrow(`--secret k: cannot read ${join(dir, 'missing.txt')} (ENOENT)`);
    expect(() => parseSecrets(['k=.'], dir)).toThrow('not a regular file');
    expect(() => parseSecrets(['ssh.authorized_keys.root=age.txt'], dir)).toThrow('--secret ssh.authorized_keys.root: the plugin sets this credential itself');
  });
});
