/**
 * `nx affected -t vm-test` on the RAVE layout (tools/fixtures/vm-test-layout.ts: 3 profiles, 6 service
 * modules, a base configuration importing them all, a test per profile and per module).
 *
 * Selection: for an edit of each module, the vm-test projects `nx show projects --affected -t vm-test`
 * names, against the ground truth: the checks whose drvPath changed (`nix eval` before and after).
 * Wall-clock, for REPEATS edits of one module, each measured from the same warm store in two workspaces:
 * - now: `nx affected -t vm-test` with featureModules (the module's test and the profiles that turn it on,
 *   no image);
 * - before: what the same command did before module tests and featureModules: every profile's vm-test,
 *   each after its build-image (`nx run-many -t vm-test` over the profiles with vmTestDependsOnImage).
 * Images sleep IMAGE_SECONDS and tests TEST_SECONDS, to stand for real work.
 * Run: node -r @swc-node/register tools/bench/affected-vm-test.ts [repeats] [imageSeconds] [testSeconds]
 */
import { stripAnsi } from '../../packages/nx-nixos/src/nix/command';
import { nixEvalJson } from '../../packages/nx-nixos/src/nix/eval';
import { createTestWorkspace, type TestWorkspace } from '../../packages/nx-nixos/src/testing/workspace';
import { FEATURE_MODULES, moduleProject, vmTestLayoutFiles } from '../fixtures/vm-test-layout';
import { median, timeMs, writeResults } from './lib';

const REPEATS = Number(process.argv[2] ?? 3);
const IMAGE_SECONDS = Number(process.argv[3] ?? 8);
const TEST_SECONDS = Number(process.argv[4] ?? 2);
const SYSTEM = 'x86_64-linux';
const PROFILES = { production: ['gitlab', 'mattermost', 'outline', 'n8n', 'penpot', 'monitoring'], development: ['gitlab', 'mattermost', 'monitoring'], demo: ['gitlab', 'mattermost'] };
const MODULES = ['gitlab', 'mattermost', 'outline', 'n8n', 'penpot', 'monitoring'];
const nonce = `${process.pid}-${Date.now()}`;

/** The project whose vm-test builds a check. */
const projectOfCheck = (check: string) =>
  check.startsWith('profile-') ? check.slice('profile-'.length) : check === 'module-configs' ? 'nix-configs' : moduleProject(check.slice('module-'.length));

function workspace(pluginOptions: Record<string, unknown>): TestWorkspace {
  const ws = createTestWorkspace({ files: vmTestLayoutFiles({ profiles: PROFILES, modules: MODULES, imageSeconds: IMAGE_SECONDS, testSeconds: TEST_SECONDS, nonce }), pluginOptions });
  // The store of the previous commit: every image and test built.
  const warm = ws.nx(['run-many', '-t', 'build-image', 'vm-test', '--skip-nx-cache', '--outputStyle=static']);
  if (warm.code !== 0) throw new Error(`warm-up failed:\n${warm.output}`);
  return ws;
}

function edit(ws: TestWorkspace, module: string, version: string) {
  const file = `infra/nixos/modules/services/${module}/default.nix`;
  ws.write(file, `{ text = "${module} ${version}"; }\n`);
  ws.commit(`${module} ${version}`);
}

const drvPaths = (ws: TestWorkspace) => nixEvalJson<Record<string, string>>(ws.root, `.#checks.${SYSTEM}`, 'cs: builtins.mapAttrs (n: c: c.drvPath) cs', true);

/** Tasks `nx` ran, from its static output ("> nx run p:t"). */
const tasksOf = (output: string) => [...new Set([...stripAnsi(output).matchAll(/nx run ([\w@/-]+:[\w-]+)/g)].map((m) => m[1]))].sort();

async function main() {
  const now = workspace({ featureModules: FEATURE_MODULES });
  const before = workspace({ vmTestDependsOnImage: true });
  try {
    // Selection against the drvPath ground truth, one edit per module.
    const selection = [];
    for (const module of MODULES) {
      const drvBefore = await drvPaths(now);
      edit(now, module, 'selection');
      const drvAfter = await drvPaths(now);
      const changed = Object.keys(drvAfter).filter((c) => drvAfter[c] !== drvBefore[c] && c !== 'minimal-test').map(projectOfCheck).sort();
      const r = now.nx(['show', 'projects', '--affected', '-t', 'vm-test', '--base=HEAD~1', '--head=HEAD', '--json']);
      if (r.code !== 0) throw new Error(r.output);
      const scheduled = (JSON.parse(r.stdout) as string[]).sort();
      selection.push({
        module,
        scheduled,
        changed,
        missed: changed.filter((p) => !scheduled.includes(p)),
        extra: scheduled.filter((p) => !changed.includes(p)),
      });
      // Back to the first version: its derivations are those of the warm store.
      edit(now, module, 'v1');
    }

    // Wall-clock of one module edit, now and before, from the same warm store.
    const runs = [];
    for (let i = 0; i < REPEATS; i++) {
      const version = `timed-${i}`;
      edit(now, 'gitlab', version);
      edit(before, 'gitlab', version);
      let nowOutput = '';
      let beforeOutput = '';
      const nowMs = timeMs(() => {
        const r = now.nx(['affected', '-t', 'vm-test', '--base=HEAD~1', '--head=HEAD', '--outputStyle=static']);
        if (r.code !== 0) throw new Error(r.output);
        nowOutput = r.output;
      });
      const beforeMs = timeMs(() => {
        const r = before.nx(['run-many', '-t', 'vm-test', `--projects=${Object.keys(PROFILES).join(',')}`, '--outputStyle=static']);
        if (r.code !== 0) throw new Error(r.output);
        beforeOutput = r.output;
      });
      const nowTasks = tasksOf(nowOutput);
      const beforeTasks = tasksOf(beforeOutput);
      runs.push({
        nowMs: Math.round(nowMs),
        beforeMs: Math.round(beforeMs),
        nowTasks,
        beforeTasks,
        nowImageBuilds: nowTasks.filter((t) => t.endsWith(':build-image')).length,
        beforeImageBuilds: beforeTasks.filter((t) => t.endsWith(':build-image')).length,
      });
    }
    const nowMedian = median(runs.map((r) => r.nowMs));
    const beforeMedian = median(runs.map((r) => r.beforeMs));
    writeResults('affected-vm-test', {
      layout: { profiles: PROFILES, modules: MODULES, imageSeconds: IMAGE_SECONDS, testSeconds: TEST_SECONDS },
      selection,
      selectionExact: selection.every((s) => s.missed.length === 0 && s.extra.length === 0),
      runs,
      medianMs: { now: nowMedian, before: beforeMedian },
      ratioNowToBefore: Number((nowMedian / beforeMedian).toFixed(3)),
    });
  } finally {
    now.cleanup();
    before.cleanup();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
