import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FEATURE_MODULES, moduleProject, vmTestLayoutFiles } from '../../../tools/fixtures/vm-test-layout';
import { describeIfTools } from '../src/testing/tools';
import { createTestWorkspace, type TestWorkspace } from '../src/testing/workspace';

jest.setTimeout(600_000);

const PROFILES = { alpha: ['web', 'db'], beta: ['web'], gamma: ['mail'] };
const MODULES = ['web', 'db', 'mail'];
const MODULE_PROJECTS = MODULES.map(moduleProject);

/** The RAVE layout on a hermetic flake: a test per profile and per service module, selected by `nx affected`. */
describeIfTools(['nix', 'git'])('nx affected -t vm-test runs the tests of what changed, and builds no image (real nx and nix)', () => {
  let ws: TestWorkspace;
  const read = (path: string) => readFileSync(join(ws.root, path), 'utf8');
  const head = () => ws.run('git', ['rev-parse', 'HEAD']).stdout.trim();

  /** Commits an edit of `path`, runs `body` with the commit before it as base, then undoes the edit. */
  const withEdit = <T>(path: string, edit: (text: string) => string, body: (base: string) => T): T => {
    const base = head();
    const original = read(path);
    ws.write(path, edit(original));
    ws.commit(`edit ${path}`);
    try {
      return body(base);
    } finally {
      ws.write(path, original);
      ws.commit(`restore ${path}`);
    }
  };
  const affectedTests = (base: string) => {
    const r = ws.nx(['show', 'projects', '--affected', '-t', 'vm-test', `--base=${base}`, '--head=HEAD', '--json']);
    expect(r.code).toBe(0);
    return (JSON.parse(r.stdout) as string[]).sort();
  };

  beforeAll(() => {
    ws = createTestWorkspace({ files: vmTestLayoutFiles({ profiles: PROFILES, modules: MODULES }), pluginOptions: { featureModules: FEATURE_MODULES } });
  });
  afterAll(() => ws?.cleanup());

  it('lists each test and the check it builds; a profile depends on the modules of its features, not on build-image', () => {
    const shown = (project: string) => {
      const r = ws.nx(['show', 'project', project, '--json']);
      expect(r.code).toBe(0);
      return JSON.parse(r.stdout);
    };
    const alpha = shown('alpha');
    expect(alpha.targets['vm-test'].dependsOn).toBeUndefined();
    expect(alpha.targets['vm-test'].metadata.description).toContain('checks.x86_64-linux.profile-alpha');
    expect(alpha.implicitDependencies.sort()).toEqual([moduleProject('db'), moduleProject('web')]);
    const web = shown(moduleProject('web'));
    expect(web.targets['vm-test'].options.checks).toEqual(['module-web']);
    expect(web.targets['vm-test'].inputs).toEqual(expect.arrayContaining(['{workspaceRoot}/infra/nixos/tests/module-node.nix', '{workspaceRoot}/infra/nixos/configs/base.nix']));
    expect(shown('nix-configs').targets['vm-test'].options.checks).toEqual(['module-configs']);
    expect(shown('nix-tests').targets ?? {}).not.toHaveProperty('vm-test');
  });

  it('a module edit marks its module test and the profiles that turn the feature on', () => {
    withEdit('infra/nixos/modules/services/web/default.nix', (t) => t.replace('v1', 'v2'), (base) => {
      expect(affectedTests(base)).toEqual(['alpha', 'beta', moduleProject('web')].sort());
    });
    withEdit('infra/nixos/modules/services/mail/default.nix', (t) => t.replace('v1', 'v2'), (base) => {
      expect(affectedTests(base)).toEqual(['gamma', moduleProject('mail')].sort());
    });
  });

  it('a base configuration edit marks every test; a docs edit marks none', () => {
    withEdit('infra/nixos/configs/base.nix', (t) => t.replace('base v1', 'base v2'), (base) => {
      expect(affectedTests(base)).toEqual([...Object.keys(PROFILES), ...MODULE_PROJECTS, 'nix-configs'].sort());
    });
    withEdit('docs/guide.md', (t) => `${t}\nMore words.\n`, (base) => {
      expect(affectedTests(base)).toEqual([]);
    });
  });

  it('nx affected -t vm-test builds the tests of a module edit, one JUnit report each, and no image', () => {
    withEdit('infra/nixos/modules/services/web/default.nix', (t) => t.replace('v1', 'v3'), (base) => {
      const run = ws.nx(['affected', '-t', 'vm-test', `--base=${base}`, '--head=HEAD', '--outputStyle=static']);
      expect(run.code).toBe(0);
      const tasks = [...run.output.matchAll(/nx run ([\w-]+:[\w-]+)/g)].map((m) => m[1]);
      expect([...new Set(tasks)].sort()).toEqual(['alpha:vm-test', 'beta:vm-test', `${moduleProject('web')}:vm-test`].sort());
      for (const [project, check] of [
        ['alpha', 'profile-alpha'],
        ['beta', 'profile-beta'],
        [moduleProject('web'), 'module-web'],
      ]) {
        const junit = read(`artifacts/tests/${project}/junit.xml`);
        expect(junit).toContain(`name="${check}"`);
        expect(junit).not.toContain('<failure');
      }
      for (const profile of Object.keys(PROFILES)) expect(existsSync(join(ws.root, `artifacts/images/${profile}`))).toBe(false);
      expect(existsSync(join(ws.root, 'artifacts/tests/gamma'))).toBe(false);
    });
  });
});
