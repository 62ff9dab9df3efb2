/**
 * The import graph drawn in docs/explanation/nix-import-graph.md is this repository's: its edges equal
 * the plugin's static import graph of every tracked .nix file, with the per-profile and per-service files
 * drawn once (profiles/* and modules/services/*). Dashed edges are whole-folder reads.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildImportGraph } from '../../packages/nx-nixos/src/nix/imports';

const REPO = join(__dirname, '../..');
const PAGE = 'docs/explanation/nix-import-graph.md';

const collapse = (path: string) =>
  path.replace(/^profiles\/[^/]+\/(profile\.(nix|json))$/, 'profiles/*/$1').replace(/^(infra\/nixos\/modules\/services)\/[^/]+\/(default|test)\.nix$/, '$1/*/$2.nix');

/** "from --> to" and "from -.-> folder/" lines of the repository's graph. */
function repositoryEdges(): Set<string> {
  const files = execFileSync('git', ['ls-files', '--', 'flake.nix', 'profiles/*.nix', 'infra/*.nix'], { cwd: REPO, encoding: 'utf8' }).split('\n').filter(Boolean);
  const edges = new Set<string>();
  for (const [file, imports] of buildImportGraph(REPO, files)) {
    for (const dep of imports.dependencies) {
      const sameProfile = /^profiles\/([^/]+)\//.exec(file)?.[1] === /^profiles\/([^/]+)\//.exec(dep.path)?.[1];
      const to = dep.kind === 'folder' ? `${dep.path}/` : sameProfile || dep.path.startsWith('infra/') ? collapse(dep.path) : dep.path;
      edges.add(`${collapse(file)} ${dep.kind === 'folder' ? '-.->' : '-->'} ${to}`);
    }
  }
  return edges;
}

/** The same lines read from the page's mermaid block: `id["label"]` nodes, `a --> b` and `a -.-> b` edges. */
function diagramEdges(): Set<string> {
  const text = readFileSync(join(REPO, PAGE), 'utf8');
  const block = /```mermaid\n(flowchart[^\n]*\n(?:(?!```)[^\n]*\n)*)```/.exec(text.slice(text.indexOf('## The import graph of this repository')))?.[1] ?? '';
  const labels = new Map<string, string>();
  for (const m of block.matchAll(/(\w+)\["([^"]+)"\]/g)) labels.set(m[1], m[2]);
  const edges = new Set<string>();
  for (const m of block.matchAll(/^\s*(\w+)(?:\["[^"]+"\])?\s+(-->|-\.->)\s+(\w+)/gm)) edges.add(`${labels.get(m[1]) ?? m[1]} ${m[2]} ${labels.get(m[3]) ?? m[3]}`);
  return edges;
}

describe(`${PAGE}: the import graph of this repository`, () => {
  it('draws exactly the edges of the static import graph', () => {
    const real = repositoryEdges();
    const drawn = diagramEdges();
    expect({ missing: [...real].filter((e) => !drawn.has(e)).sort(), extra: [...drawn].filter((e) => !real.has(e)).sort() }).toEqual({ missing: [], extra: [] });
  });
});
