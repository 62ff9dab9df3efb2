import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeIfTools } from '../src/testing/tools';
import { createTestWorkspace, fixtureProfile, profileJson, REPO_ROOT, type TestWorkspace } from '../src/testing/workspace';

jest.setTimeout(300_000);

/** Graph inference runs on every nx command: a crafted file must not make it slow. Complexity, not speed. */
const BUDGET_MS = 20_000;

const inputsOf = (ws: TestWorkspace, project: string): unknown[] => {
  const shown = ws.nx(['show', 'project', project, '--json']);
  expect(shown.code).toBe(0);
  return JSON.parse(shown.stdout).targets['build-image'].inputs;
};

describeIfTools(['git'])('graph inference and nx-nixos imports on files crafted against them, with real nx', () => {
  let ws: TestWorkspace;
  let outside: string;

  beforeAll(() => {
    outside = mkdtempSync(join(tmpdir(), 'nx-nixos-outside-'));
    // Were this file read through the link below, its literal would add profiles/dev's closure an input.
    writeFileSync(join(outside, 'evil.nix'), '{ imports = [ ./LEAKED.nix ]; }\n');
    ws = createTestWorkspace({
      busybox: false,
      files: {
        'flake.nix': '{ outputs = _: { }; }\n',
        'profiles/dev/profile.json': profileJson(fixtureProfile('dev')),
        'profiles/dev/profile.nix': '{ imports = [ ../../infra/nixos/lib ../../..dots.nix ]; }\n',
        'infra/nixos/lib/default.nix': '{ imports = [ ./evil.nix ./fifo.nix ./dangling.nix ]; }\n',
        'infra/nixos/lib/LEAKED.nix': '{ }\n',
        '..dots.nix': '{ }\n',
      },
    });
    symlinkSync(join(outside, 'evil.nix'), join(ws.root, 'infra/nixos/lib/evil.nix'));
    symlinkSync(join(outside, 'missing.nix'), join(ws.root, 'infra/nixos/lib/dangling.nix'));
    execFileSync('mkfifo', [join(ws.root, 'infra/nixos/lib/fifo.nix')]);
    ws.commit('links');
  });
  afterAll(() => {
    ws?.cleanup();
    if (outside) rmSync(outside, { recursive: true, force: true });
  });

  it('reads no Nix file through a link out of the workspace, nor a FIFO, nor a dangling link, and keeps working', () => {
    const inputs = inputsOf(ws, 'dev');
    expect(inputs).toEqual(expect.arrayContaining(['{workspaceRoot}/infra/nixos/lib/default.nix', '{workspaceRoot}/infra/nixos/lib/evil.nix']));
    expect(inputs).not.toContain('{workspaceRoot}/infra/nixos/lib/LEAKED.nix');
  });

  it('takes ..dots.nix at the workspace root as a file inside it, so that a change to it affects the profile', () => {
    expect(inputsOf(ws, 'dev')).toContain('{workspaceRoot}/..dots.nix');
  });

  it('nx-nixos imports skips those files with a note instead of crashing', () => {
    const run = ws.run(process.execPath, [join(REPO_ROOT, 'packages/nx-nixos/bin/nx-nixos.js'), 'imports', 'infra/nixos/lib', '--json']);
    expect(run.code).toBe(0);
    const files: { file: string; closure: { files: string[] } }[] = JSON.parse(run.stdout).files;
    expect(files.map((f) => f.file)).toEqual(['infra/nixos/lib/LEAKED.nix', 'infra/nixos/lib/default.nix']);
    expect(files[1].closure.files).not.toContain('infra/nixos/lib/LEAKED.nix');
    expect(run.stderr).toContain('infra/nixos/lib/fifo.nix was not read: it is not a regular file (a FIFO).');
    expect(run.stderr).toContain('infra/nixos/lib/dangling.nix was not read: it is a symlink to nothing.');
    expect(run.stderr).toContain('infra/nixos/lib/evil.nix was not read: it is a symlink that leads outside the workspace.');
    expect(run.output).not.toContain('is not iterable');
  });

  it('computes the graph within the budget with a crafted 1 MB Nix file among the modules, fresh and after an edit', () => {
    const crafted = `{ x = ${'a.'.repeat(512 * 1024)}`;
    ws.write('infra/nixos/lib/crafted.nix', crafted);
    ws.commit('crafted');
    rmSync(join(ws.root, '.nx'), { recursive: true, force: true });
    for (const edit of ['', '\n# edited\n']) {
      ws.write('infra/nixos/lib/crafted.nix', crafted + edit);
      const started = Date.now();
      const run = ws.nx(['show', 'projects', '--json'], { timeoutMs: BUDGET_MS });
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout).sort()).toEqual(['dev', 'nix-lib', 'repo']);
      expect(Date.now() - started).toBeLessThan(BUDGET_MS);
    }
    rmSync(join(ws.root, 'infra/nixos/lib/crafted.nix'));
    ws.commit('crafted gone');
  });

  it('fails with a clear error naming the profile, instead of Nx breaking, when a profile is named like a module project', () => {
    ws.write('profiles/nix-lib/profile.json', profileJson(fixtureProfile('nix-lib')));
    try {
      const run = ws.nx(['show', 'projects']);
      expect(run.code).not.toBe(0);
      expect(run.output).toContain('profiles/nix-lib/profile.json');
      expect(run.output).toContain('"nix-lib" is also the name of the Nix module project of infra/nixos/lib, and Nx project names must be unique. Rename the profile');
      expect(run.output).not.toContain('defined in multiple locations');
    } finally {
      rmSync(join(ws.root, 'profiles/nix-lib'), { recursive: true, force: true });
    }
  });

  it.each([
    [{ profilesDir: 42 }, 'nx.json: option "profilesDir" of plugin @rave/nx-nixos is invalid: expected a folder, got the number 42. Set it to'],
    [{ profilesDir: '../..' }, 'option "profilesDir" of plugin @rave/nx-nixos is invalid: "../.." leads outside the workspace.'],
    [{ profilesDir: '/' }, 'option "profilesDir" of plugin @rave/nx-nixos is invalid: "/" is an absolute path.'],
    [{ nixInputs: 'config/**' }, 'option "nixInputs" of plugin @rave/nx-nixos is invalid: expected an array of globs, got the string "config/**". Write it as ["config/**"].'],
    [{ nixModuleGlobs: 'infra/**/*.nix' }, 'option "nixModuleGlobs" of plugin @rave/nx-nixos is invalid: expected an array of globs'],
    [{ buildImageTargetName: 5 }, 'option "buildImageTargetName" of plugin @rave/nx-nixos is invalid: expected a name, got the number 5.'],
  ])('stops every command on the plugin option %j with what is wrong and what to do, never an empty graph', (options, message) => {
    ws.write('nx.json', JSON.stringify({ plugins: [{ plugin: '@rave/nx-nixos', options }] }, null, 2));
    try {
      const run = ws.nx(['show', 'projects']);
      expect(run.code).not.toBe(0);
      expect(run.output).toContain(message);
      expect(run.output).not.toContain('is not a function');
    } finally {
      ws.write('nx.json', JSON.stringify({ plugins: [{ plugin: '@rave/nx-nixos', options: {} }] }, null, 2));
    }
    expect(existsSync(join(ws.root, 'nx.json'))).toBe(true);
  });
});
