import type { ExecutorContext, TaskGraph } from '@nx/devkit';
import { groupTasks, runBatchTasks, yieldResults, type BatchOutcome, type BatchSteps, type NixBuildSettings } from './batch';

const task = (project: string) => ({ id: `${project}:build-image`, target: { project, target: 'build-image' }, overrides: {}, outputs: [], parallelism: true });
const graph = (projects: string[]): TaskGraph =>
  ({ roots: [], tasks: Object.fromEntries(projects.map((p) => [`${p}:build-image`, task(p)])), dependencies: {}, continuousDependencies: {} });
const context = { root: '/workspace', cwd: '/workspace', isVerbose: false } as unknown as ExecutorContext;

interface Item {
  key: string;
  project: string;
}

/** Steps that record what the loop asks of them; `fail` names the projects that fail at each step. */
function recordingSteps(fail: { prepare?: string[]; build?: string[]; report?: string[]; missing?: string[] } = {}) {
  const builds: { items: string[]; options: NixBuildSettings; logFile: string }[] = [];
  const steps: BatchSteps<NixBuildSettings, Item, { path: string }> = {
    what: 'profile(s)',
    nameOf: (item) => item.project,
    prepare(key, _options, ctx, output) {
      if (fail.prepare?.includes(ctx.projectName!)) throw new Error(`${ctx.projectName}/profile.json: $.name: bad`);
      output.log(`${ctx.projectName}: prepared`);
      return { key, project: ctx.projectName! };
    },
    async build(items, options, logFile) {
      builds.push({ items: items.map((i) => i.project), options, logFile });
      const outcomes = new Map<string, BatchOutcome<{ path: string }>>();
      for (const item of items) {
        if (fail.missing?.includes(item.project)) continue;
        outcomes.set(item.key, fail.build?.includes(item.project) ? { ok: false, error: new Error(`${item.project}: build failed`) } : { ok: true, path: `/nix/store/${item.project}` });
      }
      return outcomes;
    },
    report(item, built, output) {
      output.log(`${item.project}: ${built.path}`);
      return !fail.report?.includes(item.project);
    },
  };
  return { steps, builds };
}

describe('runBatchTasks', () => {
  let stderr: string;
  beforeEach(() => {
    stderr = '';
    jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  });
  afterEach(() => jest.restoreAllMocks());

  it('builds the tasks of a group in one build and gives each task its own output and status', async () => {
    const { steps, builds } = recordingSteps({ report: ['b'] });
    const inputs = { 'a:build-image': { offline: true }, 'b:build-image': { offline: true } };
    const results = await runBatchTasks(graph(['a', 'b']), inputs, context, steps);
    expect(builds).toEqual([{ items: ['a', 'b'], options: { offline: true }, logFile: '/workspace/artifacts/logs/batch-build-image.log' }]);
    expect(stderr).toBe('build-image: 2 profile(s) in one nix build: a, b\n');
    expect(results).toEqual({
      'a:build-image': { success: true, terminalOutput: 'a: prepared\na: /nix/store/a\n' },
      'b:build-image': { success: false, terminalOutput: 'b: prepared\nb: /nix/store/b\n' },
    });
  });

  it('runs one build per group of tasks whose build options differ', async () => {
    const { steps, builds } = recordingSteps();
    const inputs = { 'a:build-image': { offline: true }, 'b:build-image': { offline: false }, 'c:build-image': { offline: true } };
    expect(groupTasks(inputs)).toEqual([['a:build-image', 'c:build-image'], ['b:build-image']]);
    const results = await runBatchTasks(graph(['a', 'b', 'c']), inputs, context, steps);
    expect(builds.map((b) => b.items)).toEqual([['a', 'c'], ['b']]);
    expect(Object.values(results).every((r) => r.success)).toBe(true);
  });

  it('fails only the task that cannot prepare, build or report, and builds nothing for a group with no task left', async () => {
    const { steps, builds } = recordingSteps({ prepare: ['a', 'c'], build: ['b'], missing: ['d'] });
    const inputs = { 'a:build-image': { offline: true }, 'b:build-image': {}, 'c:build-image': { offline: true }, 'd:build-image': {}, 'e:build-image': {} };
    const results = await runBatchTasks(graph(['a', 'b', 'c', 'd', 'e']), inputs, context, steps);
    expect(builds.map((b) => b.items)).toEqual([['b', 'd', 'e']]);
    expect(results['a:build-image']).toEqual({ success: false, terminalOutput: 'build-image: a/profile.json: $.name: bad\n' });
    expect(results['b:build-image']).toEqual({ success: false, terminalOutput: 'b: prepared\nbuild-image: b: build failed\n' });
    expect(results['d:build-image']).toEqual({ success: false, terminalOutput: 'd: prepared\nbuild-image: no result\n' });
    expect(results['e:build-image'].success).toBe(true);
  });

  it('hands the results to Nx one task at a time', async () => {
    const { steps } = recordingSteps();
    const yielded = [];
    for await (const entry of yieldResults(runBatchTasks(graph(['a', 'b']), { 'a:build-image': {}, 'b:build-image': {} }, context, steps))) yielded.push(entry.task);
    expect(yielded).toEqual(['a:build-image', 'b:build-image']);
  });
});
