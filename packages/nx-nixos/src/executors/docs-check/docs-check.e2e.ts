import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { describeIfTools } from '../../testing/tools';
import { REPO_ROOT, createTestWorkspace, fixtureProfile, hermeticFlake, profileJson, type TestWorkspace } from '../../testing/workspace';

jest.setTimeout(300_000);

const GUIDE = `# Build and launch

Build the image, then start it:

\`\`\`sh
npx nx run development:build-image
npx nx run development:deploy
rave vm list-profiles
\`\`\`

Then check the repository with \`npx nx run repo:hygiene\`.
`;

describeIfTools(['git'])('docs-check through real nx in a temporary workspace', () => {
  let ws: TestWorkspace;

  beforeAll(() => {
    ws = createTestWorkspace({
      busybox: false,
      pluginOptions: { docsCheck: { retiredCommands: [{ pattern: String.raw`\brave\s+vm\s+list-profiles\b`, replacement: 'npx nx show projects' }] } },
      files: {
        'flake.nix': hermeticFlake({}),
        'profiles/development/profile.json': profileJson(fixtureProfile('development')),
        'docs/README.md': '# Docs\n\n- [Build and launch](how-to/build-and-launch.md)\n',
        'docs/how-to/build-and-launch.md': GUIDE,
        'README.md': '# Fixture\n\nSee [the docs](docs/README.md) and [setup](docs/how-to/setup.md).\n',
      },
    });
  });
  afterAll(() => ws?.cleanup());

  it('infers the docs project and its cached docs-check target', () => {
    const shown = ws.nx(['show', 'project', 'docs', '--json']);
    expect(shown.code).toBe(0);
    const target = JSON.parse(shown.stdout).targets['docs-check'];
    expect(target).toMatchObject({ executor: '@rave/nx-nixos:docs-check', cache: true });
  });

  it('checks commands against the real project graph, links in READMEs, and fails with findings', () => {
    const run = ws.nx(['run', 'docs:docs-check']);
    expect(run.code).not.toBe(0);
    expect(run.output).toContain('`nx run development:deploy`: project "development" has no target "deploy".');
    expect(run.output).not.toContain('development:build-image`:');
    expect(run.output).toContain('`rave vm list-profiles` no longer exists.');
    expect(run.output).toContain('Link "docs/how-to/setup.md" points to docs/how-to/setup.md, which does not exist.');
    expect(run.output).not.toContain('docs/stale-command skipped');
  });

  it('writes machine formats through target options', () => {
    const run = ws.nx(['run', 'docs:docs-check', '--format=json', '--skip-nx-cache']);
    const json = JSON.parse(run.stdout.slice(run.stdout.indexOf('{'), run.stdout.lastIndexOf('}') + 1));
    expect(json.findings.map((f: { rule: string }) => f.rule).sort()).toEqual(['docs/missing-file', 'docs/retired-command', 'docs/stale-command']);
  });

  it('runs as `nx-nixos docs-check <dir>` with the workspace graph', () => {
    const run = ws.run(process.execPath, [join(REPO_ROOT, 'packages/nx-nixos/bin/nx-nixos.js'), 'docs-check', 'docs', '--format', 'github']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^::error file=docs\/how-to\/build-and-launch\.md,line=7,title=docs\/stale-command::/m);
  });

  it('fixes what it can, passes once the docs are right, then hits the cache until an input changes', () => {
    const fix = ws.nx(['run', 'docs:docs-check', '--fix']);
    expect(fix.output).toContain('Fixed 1 finding(s) in 1 file(s).');
    expect(readFileSync(join(ws.root, 'docs/how-to/build-and-launch.md'), 'utf8')).toContain('npx nx show projects\n');

    ws.write('docs/how-to/build-and-launch.md', readFileSync(join(ws.root, 'docs/how-to/build-and-launch.md'), 'utf8').replace('development:deploy', 'development:launch'));
    ws.write('README.md', '# Fixture\n\nSee [the docs](docs/README.md).\n');
    ws.commit('docs fixed');
    const clean = ws.nx(['run', 'docs:docs-check']);
    expect(clean.code).toBe(0);
    expect(clean.output).toContain('No findings.');

    const cached = ws.nx(['run', 'docs:docs-check']);
    expect(cached.code).toBe(0);
    expect(cached.output).toMatch(/existing outputs match the cache|local cache/);

    // Profile files are inputs: renaming the profile makes the quoted commands stale.
    rmSync(join(ws.root, 'profiles/development'), { recursive: true });
    ws.write('profiles/dev/profile.json', profileJson(fixtureProfile('dev')));
    ws.commit('rename profile');
    const stale = ws.nx(['run', 'docs:docs-check']);
    expect(stale.code).not.toBe(0);
    expect(stale.output).toContain('project "development" does not exist in the project graph');
  });
});

describeIfTools(['git'])('docs-check through real nx reads nothing outside the workspace', () => {
  let ws: TestWorkspace;
  let outside: string;
  const SECRET = 'root:$6$s3cr3t-hash:19000:0:99999:7:::\n';

  beforeAll(() => {
    ws = createTestWorkspace({
      busybox: false,
      files: {
        'flake.nix': hermeticFlake({}),
        'docs/README.md': '# Docs\n\n- [Reference](reference/README.md)\n',
        'docs/reference/README.md': '# Reference\n\n- [Shadow](shadow.md)\n',
      },
    });
    outside = mkdtempSync(join(dirname(ws.root), 'nx-nixos-outside-'));
    writeFileSync(join(outside, 'shadow'), SECRET);
    writeFileSync(join(outside, 'allow.json'), SECRET);
    symlinkSync(join(outside, 'shadow'), join(ws.root, 'docs/reference/shadow.md'));
    ws.commit('a page that links out of the workspace');
  });
  afterAll(() => {
    ws?.cleanup();
    if (outside) rmSync(outside, { recursive: true, force: true });
  });

  it('reports a page that is a symlink out of the workspace as docs/unreadable, without reading it', () => {
    const run = ws.nx(['run', 'docs:docs-check', '--skip-nx-cache']);
    expect(run.code).not.toBe(0);
    expect(run.output).toContain('docs/reference/shadow.md was not read: it is a symlink that leads outside the repository.');
    expect(run.output).not.toContain('s3cr3t');
  });

  it('refuses an allowlist outside the workspace, naming it and why, without reading it', () => {
    const run = ws.nx(['run', 'docs:docs-check', '--skip-nx-cache', `--allowlist=../${basename(outside)}/allow.json`]);
    expect(run.code).not.toBe(0);
    expect(run.output).toContain(`../${basename(outside)}/allow.json: cannot read the allowlist: it is not inside the repository.`);
    expect(run.output).not.toMatch(/s3cr3t|root:/);
  });

  it('refuses a docsDir outside the workspace', () => {
    const run = ws.nx(['run', 'docs:docs-check', '--skip-nx-cache', '--docsDir=../..']);
    expect(run.code).not.toBe(0);
    expect(run.output).toContain('docs folder "../.." is outside the repository');
  });
});
