import {
  buildImageCommand,
  buildLogFile,
  DEFAULT_NAMES,
  doctorCommand,
  imageManifestFile,
  imageOutLink,
  instanceDir,
  inWorkspace,
  profileDir,
  profileFile,
  outputDir,
  outputReadme,
  testReportDir,
  useWorkspaceNames,
  vmsDir,
} from './layout';

describe('layout', () => {
  afterEach(() => useWorkspaceNames(DEFAULT_NAMES));

  it('puts everything the plugin writes under the artifacts folder', () => {
    expect(outputDir()).toBe('artifacts');
    expect(outputReadme()).toBe('artifacts/README.md');
    expect(imageManifestFile('dev')).toBe('artifacts/images/dev/manifest.json');
    expect(imageOutLink('dev')).toBe('artifacts/images/dev/result');
    expect(buildLogFile('dev')).toBe('artifacts/logs/dev/build-image.log');
    expect(testReportDir('module-nixos-tests')).toBe('artifacts/tests/module-nixos-tests');
    expect(vmsDir()).toBe('artifacts/vms');
    expect(instanceDir('dev', 'default')).toBe('artifacts/vms/dev/default');
  });

  it('follows the output folder and the names the workspace configured', () => {
    useWorkspaceNames({ outputDir: 'out/vm', buildImageTargetName: 'image', buildVmTargetName: 'vm', doctorTargetName: 'check-host', repoProjectName: 'infra' });
    expect(imageManifestFile('dev')).toBe('out/vm/images/dev/manifest.json');
    expect(instanceDir('dev', 'default')).toBe('out/vm/vms/dev/default');
    expect(testReportDir('dev')).toBe('out/vm/tests/dev');
    expect(buildImageCommand('dev')).toBe('npx nx run dev:image');
    expect(doctorCommand()).toBe('npx nx run infra:check-host');
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
