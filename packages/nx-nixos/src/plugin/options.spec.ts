import { profileSchema } from '../profile/schema';
import { fixtureProfile } from '../testing/workspace';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LAUNCH_SHARING_KEYS, resolveOptions, SHARING_KEYS } from './options';
import { profileProject } from './targets';

describe('plugin option "sharing"', () => {
  const profile = profileSchema.parse(fixtureProfile('development'));
  const sharing = {
    substituters: ['http://cache.internal:8080'],
    trustedPublicKeys: ['team-1:AAAA='],
    builders: 'ssh-ng://builder x86_64-linux',
    maxJobs: 0,
    pushTo: 'file:///srv/nix-cache',
    signingKeyFile: 'secrets/nix-cache-secret',
  };

  it('becomes the options of build-image and vm-test, and of launch and start without pushing', () => {
    const { targets } = profileProject(profile, 'profiles/development', resolveOptions({ sharing }));
    expect(targets!['build-image'].options).toEqual({ flakeRef: '.', ...sharing });
    expect(targets!['vm-test'].options).toEqual({ flakeRef: '.', ...sharing, withImage: true });
    const { pushTo, signingKeyFile, ...launchSharing } = sharing;
    expect(pushTo && signingKeyFile).toBeTruthy();
    expect(targets!.launch.options).toEqual({ flakeRef: '.', ...launchSharing });
    expect(targets!.start.options).toEqual({ flakeRef: '.', ...launchSharing, detach: true });
  });

  it('adds nothing when unset', () => {
    const { targets } = profileProject(profile, 'profiles/development', resolveOptions({}));
    expect(targets!['build-image'].options).toEqual({ flakeRef: '.' });
    expect(targets!.launch.options).toEqual({ flakeRef: '.' });
  });

  it('names the key and the reason of a bad value', () => {
    expect(() => resolveOptions({ sharing: { substituters: 'http://one' } as never })).toThrow(
      /^nx\.json: option "sharing\.substituters" of plugin @rave\/nx-nixos is invalid: .*expected array.*Known keys of "sharing": substituters, trustedPublicKeys, builders, maxJobs, systemFeatures, pushTo, signingKeyFile\.$/,
    );
    expect(() => resolveOptions({ sharing: { maxJobs: -1 } })).toThrow(/option "sharing\.maxJobs" .* is invalid: /);
    expect(() => resolveOptions({ sharing: { pushto: 'file:///c' } as never })).toThrow(/option "sharing" of plugin @rave\/nx-nixos is invalid: Unrecognized key.*"pushto"/);
  });

  it('names only options that the executor schemas declare', () => {
    const properties = (executor: string) =>
      Object.keys(JSON.parse(readFileSync(join(__dirname, '../executors', executor, 'schema.json'), 'utf8')).properties);
    for (const executor of ['build-image', 'vm-test']) expect(properties(executor)).toEqual(expect.arrayContaining(SHARING_KEYS));
    expect(properties('launch')).toEqual(expect.arrayContaining([...LAUNCH_SHARING_KEYS]));
    expect(SHARING_KEYS.filter((key) => !(LAUNCH_SHARING_KEYS as readonly string[]).includes(key) && properties('launch').includes(key))).toEqual([]);
  });
});
