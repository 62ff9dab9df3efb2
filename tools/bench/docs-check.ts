/**
 * docs-check on a generated tree of 2,000 Markdown pages with about 100,000 links:
 * - in-process time of all rules (files listed with git, read, parsed, checked), median of RUNS;
 * - the CLI as a user runs it (node startup included), median of RUNS;
 * - remark-validate-links through remark-cli on the same tree, once (it is the slow baseline),
 *   and whether both report the same missing files and missing anchors.
 * Run: node -r @swc-node/register tools/bench/docs-check.ts [runs]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkDocs } from '../../packages/nx-nixos/src/checks/docs/check';
import { generateDocsTree } from '../../packages/nx-nixos/src/checks/docs/fixture-tree';
import { loadDocsTree } from '../../packages/nx-nixos/src/checks/docs/load';
import { docsCheckLinks, linkFindingKey, remarkValidateLinks } from '../../packages/nx-nixos/src/checks/docs/remark-reference';
import { median, timeMs, writeResults } from './lib';

const RUNS = Number(process.argv[2] ?? 5);
const REPO = join(__dirname, '../..');
const PAGES = 2000;
const LINKS_PER_PAGE = 50;

function git(root: string, args: string[]) {
  const r = spawnSync('git', ['-C', root, ...args], { encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@b.invalid', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@b.invalid' } });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
}

function main() {
  const root = mkdtempSync(join(tmpdir(), 'docs-check-bench-'));
  // The machine is shared: record how busy it was, since that moves every figure.
  const loadBefore = loadavg()[0];
  try {
    const tree = generateDocsTree(root, { pages: PAGES, linksPerPage: LINKS_PER_PAGE, seed: 2026 });
    git(root, ['init', '-q']);
    git(root, ['add', '-A']);
    git(root, ['commit', '-qm', 'tree']);

    let findings = 0;
    const inProcess: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      inProcess.push(
        timeMs(() => {
          findings = checkDocs({ ...loadDocsTree(root, 'docs'), docsDir: 'docs' }).findings.length;
        }),
      );
    }

    const cli: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      cli.push(
        timeMs(() => {
          const r = spawnSync(process.execPath, [join(REPO, 'packages/nx-nixos/bin/nx-nixos.js'), 'docs-check', 'docs', '--root', root, '--no-graph', '--format', 'json'], {
            cwd: root,
            encoding: 'utf8',
            maxBuffer: 512 * 1024 * 1024,
          });
          if (r.status !== 1) throw new Error(`docs-check CLI exited ${r.status}: ${r.stderr}`);
        }),
      );
    }

    const ours = docsCheckLinks(root, 'docs');
    const remark = remarkValidateLinks(root, 'docs');
    const oursKeys = ours.findings.map(linkFindingKey).sort();
    const remarkKeys = remark.findings.map(linkFindingKey).sort();
    const same = oursKeys.length === remarkKeys.length && oursKeys.every((k, i) => k === remarkKeys[i]);

    const cliMedian = median(cli);
    writeResults('docs-check', {
      tree: { pages: tree.files, links: tree.links },
      loadAverage1m: { before: Number(loadBefore.toFixed(2)), after: Number(loadavg()[0].toFixed(2)) },
      runs: RUNS,
      docsCheck: {
        inProcessAllRulesMs: { median: Math.round(median(inProcess)), runs: inProcess.map(Math.round) },
        cliAllRulesMs: { median: Math.round(cliMedian), runs: cli.map(Math.round) },
        findings,
      },
      remarkValidateLinks: { cliMs: Math.round(remark.ms), runs: 1 },
      linkFindings: {
        docsCheck: ours.findings.length,
        remarkValidateLinks: remark.findings.length,
        missingFiles: ours.findings.filter((f) => f.kind === 'missing-file').length,
        missingAnchors: ours.findings.filter((f) => f.kind === 'missing-anchor').length,
        identical: same,
      },
      speedup: { cliVsRemarkCli: Number((remark.ms / cliMedian).toFixed(1)) },
      targets: {
        inProcessAtMost3s: median(inProcess) <= 3000,
        cliAtMost3s: cliMedian <= 3000,
        atLeast10xFaster: remark.ms / cliMedian >= 10,
        sameFindings: same,
      },
    });
    if (!same) process.exitCode = 1;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

main();
