import {
  ARTIFACTS_DIR,
  ARTIFACTS_README,
  buildLogFile,
  imageManifestFile,
  imageOutLink,
  instanceDir,
  inWorkspace,
  profileDir,
  profileFile,
  testReportDir,
  VMS_DIR,
} from './layout';

describe('layout', () => {
  it('puts everything the plugin writes under the artifacts folder', () => {
    expect(ARTIFACTS_DIR).toBe('artifacts');
    expect(ARTIFACTS_README).toBe('artifacts/README.md');
    expect(imageManifestFile('dev')).toBe('artifacts/images/dev/manifest.json');
    expect(imageOutLink('dev')).toBe('artifacts/images/dev/result');
    expect(buildLogFile('dev')).toBe('artifacts/logs/dev/build-image.log');
    expect(testReportDir('module-nixos-tests')).toBe('artifacts/tests/module-nixos-tests');
    expect(VMS_DIR).toBe('artifacts/vms');
    expect(instanceDir('dev', 'default')).toBe('artifacts/vms/dev/default');
  });

  it('makes a workspace-relative path absolute', () => {
    expect(inWorkspace('/ws', imageManifestFile('dev'))).toBe('/ws/artifacts/images/dev/manifest.json');
    expect(inWorkspace('/ws', testReportDir('dev'))).toBe('/ws/artifacts/tests/dev');
  });

  it('finds a profile under profilesDir, whatever it is', () => {
    expect(profileDir('profiles', 'dev')).toBe('profiles/dev');
    expect(profileDir('nixos/profiles/', 'dev')).toBe('nixos/profiles/dev');
    expect(profileFile(profileDir('nixos/profiles', 'dev'))).toBe('nixos/profiles/dev/profile.json');
  });
});
