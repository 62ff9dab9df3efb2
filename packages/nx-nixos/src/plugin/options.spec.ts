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
    expect(targets!['vm-test'].options).toEqual({ flakeRef: '.', ...sharing });
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

describe('plugin options are checked, with nx.json, the plugin, the option, the reason and the fix', () => {
  it.each([
    [{ profilesDir: 42 }, /^nx\.json: option "profilesDir" of plugin @rave\/nx-nixos is invalid: expected a folder, got the number 42\. Set it to the folder that holds one sub-folder per profile/],
    [{ profilesDir: '../..' }, /option "profilesDir" .* is invalid: "\.\.\/\.\." leads outside the workspace\. Set it to/],
    [{ profilesDir: '/' }, /option "profilesDir" .* is invalid: "\/" is an absolute path\./],
    [{ profilesDir: '.' }, /option "profilesDir" .* is invalid: "\." is the workspace root itself\./],
    [{ profilesDir: 'profiles/*' }, /option "profilesDir" .* is invalid: "profiles\/\*" is a glob, not a folder\./],
    [{ docsDir: '../docs' }, /option "docsDir" .* leads outside the workspace/],
    [{ nixModulesBase: 7 }, /option "nixModulesBase" .* expected a folder, got the number 7/],
    [{ nixInputs: 'config/**' }, /^nx\.json: option "nixInputs" of plugin @rave\/nx-nixos is invalid: expected an array of globs, got the string "config\/\*\*"\. Write it as \["config\/\*\*"\]\.$/],
    [{ nixModuleGlobs: 'infra/**/*.nix' }, /option "nixModuleGlobs" .* expected an array of globs, got the string/],
    [{ nixModuleGlobs: [42] }, /option "nixModuleGlobs\[0\]" .* expected a glob, got the number 42/],
    [{ nixInputs: ['../secrets/**'] }, /option "nixInputs\[0\]" .* "\.\.\/secrets\/\*\*" leads outside the workspace/],
    [{ nixInputs: ['/etc/**'] }, /option "nixInputs\[0\]" .* is an absolute path/],
    [{ nixModuleGlobs: ['infra/{a,b/**'] }, /option "nixModuleGlobs\[0\]" .* has unbalanced braces/],
    [{ nixModuleGlobs: ['infra/!(old)/*.nix'] }, /^nx\.json: option "nixModuleGlobs\[0\]" of plugin @rave\/nx-nixos is invalid: "infra\/!\(old\)\/\*\.nix" uses "!\(\.\.\.\)" \(match anything but\), which is not supported\. See docs\/reference\/globs\.md/],
    [{ buildImageTargetName: 5 }, /^nx\.json: option "buildImageTargetName" of plugin @rave\/nx-nixos is invalid: expected a name, got the number 5\. Set it to a target name such as "build-image"/],
    [{ launchTargetName: 'run app' }, /option "launchTargetName" .* "run app" is empty or has a space/],
    [{ stopTargetName: '' }, /option "stopTargetName" .* "" is empty/],
    [{ repoProjectName: ['repo'] }, /option "repoProjectName" .* expected a name, got an array/],
    [{ repoProjectName: 'docs' }, /option "repoProjectName" .* "docs" is the name of the documentation project/],
    [{ launchTargetName: 'start' }, /options "launchTargetName" and "startTargetName" of plugin @rave\/nx-nixos are both "start"/],
    [{ doctorTargetName: 'hygiene' }, /options "doctorTargetName" and "hygieneTargetName" .* both "hygiene"/],
    [{ flakeRef: false }, /option "flakeRef" .* expected a flake reference, got the boolean false/],
    [{ hygiene: ['x'] }, /option "hygiene" .* expected an object, got an array/],
    [{ hygiene: { profilePaths: 'x/**' } }, /option "hygiene\.profilePaths" .* expected an array of globs/],
    [{ docsCheck: { allowlist: '../allow.json' } }, /option "docsCheck\.allowlist" .* leads outside the workspace/],
    [{ sharing: 'cache' }, /option "sharing" .* expected an object, got "cache"/],
    [{ docsProjectName: 'my docs' }, /option "docsProjectName" .* "my docs" is empty or has a space.*Set it to a project name, or false for no documentation project/],
    [{ docsProjectName: true }, /option "docsProjectName" .* expected a name, got the boolean true/],
    [{ docsProjectName: 'infra', repoProjectName: 'infra' }, /option "repoProjectName" .* "infra" is the name of the documentation project \(option docsProjectName\)/],
    [{ outputDir: '../out' }, /option "outputDir" .* leads outside the workspace\. Set it to the folder for images, logs, test reports and VM instances/],
    [{ outputDir: '.' }, /option "outputDir" .* is the workspace root itself/],
  ])('%j', (options, message) => {
    expect(() => resolveOptions(options as never)).toThrow(message);
  });

  it('normalises folders, so that profiles are found however the folder is written', () => {
    expect(resolveOptions({ profilesDir: './vms/', docsDir: 'doc//', nixModulesBase: '.' })).toMatchObject({ profilesDir: 'vms', docsDir: 'doc', nixModulesBase: '.' });
  });

  it('turns the documentation project off with docsProjectName false, which frees the name "docs"', () => {
    expect(resolveOptions({ docsProjectName: false, repoProjectName: 'docs' })).toMatchObject({ docsProjectName: false, repoProjectName: 'docs' });
    expect(resolveOptions({ outputDir: './build/vm/' }).outputDir).toBe('build/vm');
  });

  it('rejects options that are not an object', () => {
    expect(() => resolveOptions('profiles' as never)).toThrow(/^nx\.json: the options of plugin @rave\/nx-nixos must be an object, got "profiles"/);
  });
});
