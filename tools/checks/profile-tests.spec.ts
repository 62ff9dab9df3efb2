import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

describe('the VM tests each profile runs', () => {
  const profiles = readdirSync(join(ROOT, 'profiles'), { withFileTypes: true }).filter((e) => e.isDirectory());

  it.each(profiles.map((p) => p.name))('%s runs its own generated test, not the base smoke test', (name) => {
    const profile = JSON.parse(readFileSync(join(ROOT, 'profiles', name, 'profile.json'), 'utf8'));
    // checks.<system>.profile-<name> (infra/nixos/tests/profile.nix); minimal-test belongs to nix-configs.
    expect(profile.tests).toContain(`profile-${name}`);
    expect(profile.tests).not.toContain('minimal-test');
  });
});
