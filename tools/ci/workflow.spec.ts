import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const ROOT = join(__dirname, '..', '..');
const WORKFLOW = join(ROOT, '.github', 'workflows', 'ci.yml');

interface Step {
  run?: string;
}
interface Workflow {
  jobs: Record<string, { steps: Step[] }>;
}

/** The targets named by `nx affected -t ...`, `nx run-many -t ...` and `nx run project:target` in a script. */
export function targetsOf(script: string): string[] {
  const targets: string[] = [];
  for (const match of script.matchAll(/\bnx\s+(affected|run-many)\b([^\n]*)/g)) {
    const t = /(?:-t|--targets?)[ =]((?:[\w-]+[ ,]?)+)/.exec(match[2]);
    if (t) targets.push(...t[1].split(/[ ,]/).filter((x) => x && !x.startsWith('-')));
  }
  for (const match of script.matchAll(/\bnx\s+run\s+[\w-]+:([\w-]+)/g)) targets.push(match[1]);
  return targets;
}

describe('.github/workflows/ci.yml', () => {
  const workflow = parse(readFileSync(WORKFLOW, 'utf8')) as Workflow;
  const scripts = Object.values(workflow.jobs).flatMap((job) => job.steps.flatMap((s) => (s.run ? [s.run] : [])));

  it('parses and runs the affected projects of the Nx graph as a matrix', () => {
    const plan = scripts.find((s) => s.includes('npx nx show projects --affected --with-target "$target" --json'));
    expect(plan).toBeDefined();
    expect(targetsOf(scripts.join('\n'))).toEqual(['hygiene', 'docs-check', 'vm-test', 'build-image']);
    // The matrix holds the affected projects that have one of the targets its jobs run, no others.
    expect(/for target in ([\w -]+); do/.exec(plan!)?.[1].split(' ')).toEqual(['hygiene', 'docs-check', 'vm-test', 'build-image']);
    // VM tests and images are two independent target sets: no test waits for an image it does not use.
    expect(scripts.filter((s) => targetsOf(s).includes('vm-test')).every((s) => !targetsOf(s).includes('build-image'))).toBe(true);
  });

  it('runs typecheck, lint and the unit tests', () => {
    expect(scripts).toEqual(expect.arrayContaining(['npm run lint', 'npx jest --selectProjects unit']));
  });

  it('builds the images of all affected profiles in one job, as one batch (one evaluation, one nix build)', () => {
    const images = workflow.jobs.images.steps.flatMap((s) => (s.run ? [s.run] : []));
    expect(images.filter((s) => targetsOf(s).includes('build-image'))).toEqual(['npx nx affected -t build-image --batch']);
    expect(Object.entries(workflow.jobs).filter(([name]) => name !== 'images').flatMap(([, job]) => job.steps.flatMap((s) => (s.run ? targetsOf(s.run) : [])))).not.toContain('build-image');
  });

  it('names only targets that exist in the workspace graph', () => {
    const named = [...new Set(scripts.flatMap(targetsOf))];
    expect(named.length).toBeGreaterThan(0);
    const env = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' };
    const missing = named.filter((target) => {
      const shown = spawnSync(join(ROOT, 'node_modules', '.bin', 'nx'), ['show', 'projects', '--with-target', target, '--json'], { cwd: ROOT, env, encoding: 'utf8' });
      if (shown.status !== 0) throw new Error(`nx show projects --with-target ${target} failed: ${shown.stderr}`);
      return (JSON.parse(shown.stdout) as string[]).length === 0;
    });
    expect(missing).toEqual([]);
  }, 120_000);
});
