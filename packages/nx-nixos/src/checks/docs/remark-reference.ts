import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { checkDocs } from './check';
import { loadDocsTree } from './load';
import { resolveLink } from './paths';
import type { DocsFinding } from './types';

/**
 * The link findings of remark-validate-links (through remark-cli, offline, no Git remote) and of
 * docs-check on the same tree, in one comparable form: "file:line missing-file|missing-anchor target".
 * The reference for the agreement test and the benchmark.
 */
export interface LinkFinding {
  file: string;
  line: number;
  kind: 'missing-file' | 'missing-anchor';
  /** As remark prints it: the path relative to the page, or `#hash` / `path#hash`. */
  target: string;
}

export const linkFindingKey = (f: LinkFinding) => `${f.file}:${f.line} ${f.kind} ${f.target}`;

const REMARK_LINE = /^\s*(\d+):(\d+)(?:-\d+:\d+)?\s+warning\s+Cannot find (file|heading for) `([^`]*)`(?: in `([^`]*)`)?/;

/** A file of an installed package; remark's packages are ESM with `exports` that require.resolve cannot open. */
function packageFile(name: string, file: string): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name, file);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) throw new Error(`${name} is not installed; run npm ci at the repository root.`);
  }
}

export function remarkValidateLinks(root: string, dir: string): { findings: LinkFinding[]; ms: number } {
  const cli = packageFile('remark-cli', 'cli.js');
  const plugin = packageFile('remark-validate-links', 'index.js');
  const started = performance.now();
  const result = spawnSync(
    process.execPath,
    [cli, '--no-config', '--no-ignore', '--no-color', '--quiet', '--no-stdout', '--use', `${plugin}=repository:false,root:${JSON.stringify(root)}`, dir],
    { cwd: root, encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 },
  );
  const ms = performance.now() - started;
  if (result.error) throw result.error;
  if (/Cannot process file|Error:/.test(result.stderr)) throw new Error(`remark-cli failed:\n${result.stderr.slice(0, 2000)}`);
  const findings: LinkFinding[] = [];
  const seen = new Set<string>();
  let file = '';
  for (const line of result.stderr.split('\n')) {
    const m = REMARK_LINE.exec(line);
    if (!m) {
      if (/^\S/.test(line) && !/^[⚠✖]/.test(line)) file = line.trim();
      continue;
    }
    const [, l, c, what, target, inFile] = m;
    const at = `${file}:${l}:${c}`;
    if (what === 'file') {
      seen.add(at);
      findings.push({ file, line: Number(l), kind: 'missing-file', target });
    } else if (!seen.has(at)) {
      // remark also reports the heading of a missing file; docs-check reports the file only.
      findings.push({ file, line: Number(l), kind: 'missing-anchor', target: inFile ? `${inFile}${target}` : target });
    }
  }
  return { findings, ms };
}

/** docs-check's link rules on the same tree, in the same form. */
export function docsCheckLinks(root: string, dir: string): { findings: LinkFinding[]; ms: number } {
  const started = performance.now();
  const tree = loadDocsTree(root, dir);
  const result = checkDocs({ ...tree, docsDir: dir, disabledRules: ['docs/orphan', 'docs/outside-divio', 'docs/stub', 'docs/link-to-stub', 'docs/stale-command', 'docs/retired-command'] });
  const ms = performance.now() - started;
  return { findings: result.findings.flatMap((f) => toLinkFinding(f)), ms };
}

function toLinkFinding(f: DocsFinding): LinkFinding[] {
  if ((f.rule !== 'docs/missing-file' && f.rule !== 'docs/missing-anchor') || !f.line || !f.subject) return [];
  const resolved = resolveLink(f.file, f.subject, false);
  if (resolved.kind !== 'local') return [];
  const dir = posix.dirname(f.file);
  const path = posix.relative(dir, resolved.path);
  if (f.rule === 'docs/missing-file') return [{ file: f.file, line: f.line, kind: 'missing-file', target: path }];
  const hash = `#${(resolved.hash ?? '').toLowerCase()}`;
  return [{ file: f.file, line: f.line, kind: 'missing-anchor', target: resolved.path === f.file ? hash : `${path}${hash}` }];
}
