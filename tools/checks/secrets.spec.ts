import { parse } from 'yaml';
import { describeIfTools } from '../../packages/nx-nixos/src/testing/tools';
import { readRepoFile, repoNixFiles } from './repo-nix';

const ENC = /^ENC\[AES256_GCM,data:[A-Za-z0-9+/]+=*,iv:[A-Za-z0-9+/]+=*,tag:[A-Za-z0-9+/]+=*,type:(str|int|float|bool|bytes|comment)\]$/;

type Tree = { [key: string]: unknown };
function leaves(tree: unknown, path: string[] = []): [string, unknown][] {
  if (tree !== null && typeof tree === 'object' && !Array.isArray(tree))
    return Object.entries(tree as Tree).flatMap(([k, v]) => leaves(v, [...path, k]));
  if (Array.isArray(tree)) return tree.flatMap((v, i) => leaves(v, [...path, String(i)]));
  return [[path.join('/'), tree]];
}

describe('config/secrets.yaml and .sops.yaml', () => {
  const secrets = parse(readRepoFile('config/secrets.yaml')) as Tree & { sops: Record<string, unknown> };

  it('holds only SOPS-encrypted values outside the sops metadata', () => {
    const { sops: _metadata, ...data } = secrets;
    const values = leaves(data);
    expect(values.length).toBeGreaterThan(10);
    expect(values.filter(([, v]) => typeof v !== 'string' || !ENC.test(v)).map(([k]) => k)).toEqual([]);
  });

  it('carries sops metadata: an age recipient with its encrypted data key, an encrypted MAC, a version', () => {
    const { sops } = secrets;
    expect(sops.mac).toMatch(ENC);
    expect(sops.lastmodified).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(sops.version).toMatch(/^\d+\.\d+\.\d+$/);
    const age = sops.age as { recipient: string; enc: string }[];
    expect(age.length).toBeGreaterThan(0);
    for (const r of age) {
      expect(r.recipient).toMatch(/^age1[0-9a-z]{58}$/);
      expect(r.enc).toMatch(/^-----BEGIN AGE ENCRYPTED FILE-----\n[\s\S]+\n-----END AGE ENCRYPTED FILE-----\n?$/);
    }
  });

  it('.sops.yaml has a creation rule for config/secrets.yaml that encrypts to the same recipients', () => {
    const rules = (parse(readRepoFile('.sops.yaml')) as { creation_rules: { path_regex: string; age: string }[] }).creation_rules;
    const rule = rules.find((r) => new RegExp(r.path_regex).test('config/secrets.yaml'));
    expect(rule).toBeDefined();
    expect(new RegExp(rule!.path_regex).test('/home/op/rave/config/secrets.yaml')).toBe(true);
    const recipients = rule!.age.split(',').map((s) => s.trim());
    expect(recipients.sort()).toEqual((secrets.sops.age as { recipient: string }[]).map((r) => r.recipient).sort());
  });
});

describeIfTools(['git'])('secrets the modules read', () => {
  it('every /run/secrets/<service>/<name> default in the modules is a key of config/secrets.yaml', () => {
    const keys = new Set(leaves(parse(readRepoFile('config/secrets.yaml'))).map(([k]) => k));
    const wanted = new Set<string>();
    for (const file of repoNixFiles().filter((f) => f.startsWith('infra/nixos/modules/')))
      for (const m of readRepoFile(file).matchAll(/"\/run\/secrets\/([a-z0-9-]+\/[a-z0-9-]+)"/g)) wanted.add(m[1]);
    // GitLab's secrets are declared through a helper: /run/secrets/gitlab/${name}.
    const gitlab = readRepoFile('infra/nixos/modules/services/gitlab/default.nix');
    const names = /secretNames = \[([^\]]*)\]/.exec(gitlab)![1].match(/"([a-z0-9-]+)"/g)!.map((s) => `gitlab/${s.slice(1, -1)}`);
    names.forEach((n) => wanted.add(n));
    expect(wanted.size).toBeGreaterThan(15);
    expect([...wanted].filter((k) => !keys.has(k)).sort()).toEqual([]);
  });
});

describeIfTools(['git'])('no plaintext secrets in the Nix code', () => {
  it('no attribute named like a password, secret, token or key gets a literal string other than a file path', () => {
    const offenders: string[] = [];
    for (const file of repoNixFiles().filter((f) => f.startsWith('infra/nixos/') || f.startsWith('profiles/') || f === 'flake.nix'))
      readRepoFile(file)
        .split('\n')
        .forEach((line, i) => {
          const m = /([A-Za-z_]*(?:password|passwd|secret|token|key))\s*=\s*"([^"]*)"/i.exec(line);
          if (m && !m[2].startsWith('/') && !m[2].startsWith('$__file{') && m[2] !== '') offenders.push(`${file}:${i + 1}: ${m[1]}`);
        });
    expect(offenders).toEqual([]);
  });
});
