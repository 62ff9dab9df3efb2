import type { ExecutorContext } from '@nx/devkit';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { imageManifestFile } from '../layout';
import { fixtureProfile, profileJson } from '../testing/workspace';
import launchExecutor from './launch/executor';
import vmTestExecutor from './vm-test/executor';

// The image check comes before any Nix build; only the Nix version probe is left out.
jest.mock('../nix/requirements', () => ({ ...jest.requireActual('../nix/requirements'), assertNixForFlake: async () => undefined }));

/** A profile outside the default profiles/ folder (plugin option profilesDir: nixos/profiles). */
describe('the image check of launch and vm-test under another profilesDir', () => {
  const projectRoot = 'nixos/profiles/dev';
  let root: string;
  let printed: string[];

  const write = (path: string, content: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  };
  const context = (targetName: string) =>
    ({ root, cwd: root, isVerbose: false, projectName: 'dev', targetName, projectsConfigurations: { version: 2, projects: { dev: { root: projectRoot } } } }) as unknown as ExecutorContext;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'nx-nixos-profiles-dir-'));
    write(`${projectRoot}/profile.json`, profileJson(fixtureProfile('dev')));
    // Built before profile.json renamed its flake attribute: out of date.
    const store = (name: string) => `/nix/store/${'a'.repeat(32)}-${name}`;
    write(
      imageManifestFile('dev'),
      JSON.stringify({
        manifestVersion: 1,
        profile: 'dev',
        installable: 'packages.x86_64-linux.old',
        storePath: store('image'),
        drvPath: store('image.drv'),
        image: { kind: 'disk', format: 'qcow2', file: 'nixos.qcow2' },
        sizeBytes: 1,
        nixVersion: '2.8.0',
      }),
    );
    printed = [];
    jest.spyOn(console, 'error').mockImplementation((text: string) => void printed.push(text));
    jest.spyOn(console, 'log').mockImplementation(() => undefined);
  });
  afterEach(() => {
    jest.restoreAllMocks();
    rmSync(root, { recursive: true, force: true });
  });

  const outOfDate = `The image of dev is out of date: ${projectRoot}/profile.json changed since it was built`;

  it('launch names the profile.json of the project root', async () => {
    expect(await launchExecutor({}, context('launch'))).toEqual({ success: false });
    expect(printed).toEqual([expect.stringContaining(`launch: ${outOfDate}`)]);
  });

  it('vm-test names the profile.json of the project root', async () => {
    jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    expect(await vmTestExecutor({ withImage: true }, context('vm-test'))).toEqual({ success: false });
    expect(printed).toEqual([expect.stringContaining(`vm-test: ${outOfDate}`)]);
  });
});
