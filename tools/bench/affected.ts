/**
 * Accuracy of `nx affected` against Nix over a generated workspace of PROFILES profiles and MODULES Nix
 * module files (folders of 10; each module imports up to three earlier modules; each profile imports a
 * shared base config and 5 to 15 modules). The Nix is hermetic and evaluable: every module's value is a
 * hash over its own value string and its imports' values, and each profile's derivation carries the hash
 * of its closure, so drvPaths are a real ground truth.
 *
 * For EDITS random single-file edits (value edits in shared and leaf modules and profiles, comment and
 * whitespace-only edits, doc edits, a flake.lock edit), each committed on its own:
 * - Nx: real `nx show projects --affected --base=HEAD~1 --head=HEAD` (no daemon, plugin cache warm);
 * - Nix: `nix eval --json` of every profile's drvPath before and after: the profiles whose drvPath changed;
 * - up-to-date check: `nix build --dry-run` of the Nx-affected profiles counts the derivations Nix would
 *   really build (all others are up to date); they are then built so the store follows the workspace.
 * Reports recall (every Nix-changed profile must be Nx-affected), precision, and builds vs changed drvs.
 * Run: node -r @swc-node/register tools/bench/affected.ts [edits] [profiles] [modules]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { offlineArgs, runNix, stripAnsi } from '../../packages/nx-nixos/src/nix/command';
import { nixEvalJson } from '../../packages/nx-nixos/src/nix/eval';
import { createTestWorkspace, fixtureProfile, profileJson } from '../../packages/nx-nixos/src/testing/workspace';
import { median, writeResults } from './lib';

const EDITS = Number(process.argv[2] ?? 50);
const PROFILES = Number(process.argv[3] ?? 200);
const MODULES = Number(process.argv[4] ?? 2000);
const SYSTEM = 'x86_64-linux';

let seed = 2026;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const pick = (n: number) => Math.floor(random() * n);

const modulePath = (i: number) => `infra/nixos/modules/group${String(Math.floor(i / 10)).padStart(3, '0')}/m${i % 10}.nix`;
const profileName = (p: number) => `p${String(p).padStart(3, '0')}`;
const up = (file: string) => file.split('/').slice(1).map(() => '..').join('/');

const flake = `{
  description = "affected benchmark";
  outputs = { self }:
    let
      names = builtins.attrNames (builtins.readDir ./profiles);
      profile = name: import (./profiles + "/\${name}/profile.nix");
    in {
      packages.${SYSTEM} = builtins.listToAttrs (map (name: {
        inherit name;
        value = derivation {
          inherit name;
          system = "${SYSTEM}";
          builder = "\${./bin}/busybox";
          value = (profile name).value;
          args = [ "sh" "-c" "echo $value > $out" ];
        };
      }) names);
    };
}
`;

/** A module: its imports bound by let, its value a hash over its own string and theirs. */
function moduleText(i: number, imports: number[], version: number, extra = ''): string {
  const file = modulePath(i);
  const lets = imports.map((j, k) => `  d${k} = import ${up(file)}/${modulePath(j)};`);
  const parts = [`"m${i} v${version}"`, ...imports.map((_, k) => `d${k}.value`)];
  return (
    `# Module ${i}; see ./README.md and "./not-a-path.nix".\n` +
    `let\n${lets.join('\n')}${lets.length ? '\n' : ''}in {\n  value = builtins.hashString "sha256" (${parts.join(' + ')});\n}\n${extra}`
  );
}

function profileText(name: string, modules: number[], version: number, extra = ''): string {
  const file = `profiles/${name}/profile.nix`;
  const parts = [`"${name} v${version}"`, `(import ${up(file)}/infra/nixos/configs/base.nix).value`, ...modules.map((m) => `(import ${up(file)}/${modulePath(m)}).value`)];
  return `{\n  value = builtins.hashString "sha256" (${parts.join('\n    + ')});\n}\n${extra}`;
}

interface Edit {
  kind: string;
  file: string;
}

interface Row extends Edit {
  affected: number;
  changed: number;
  missed: string[];
  builds: number;
  nxMs: number;
}

async function main() {
  const files: Record<string, string> = {
    'flake.nix': flake,
    'flake.lock': JSON.stringify({ nodes: { root: {} }, root: 'root', version: 7 }, null, 2) + '\n',
    'docs/guide.md': '# Guide\n',
    'infra/nixos/configs/base.nix': `{\n  value = builtins.hashString "sha256" ((import ../modules/group000/m0.nix).value + (import ../modules/group000/m1.nix).value);\n}\n`,
  };
  const moduleImports: number[][] = [];
  const moduleVersion: number[] = [];
  for (let i = 0; i < MODULES; i++) {
    moduleImports.push(i < 10 ? [] : [...new Set(Array.from({ length: pick(4) }, () => pick(i)))]);
    moduleVersion.push(0);
    files[modulePath(i)] = moduleText(i, moduleImports[i], 0);
  }
  const profileModules: number[][] = [];
  const profileVersion: number[] = [];
  for (let p = 0; p < PROFILES; p++) {
    const name = profileName(p);
    profileModules.push([...new Set(Array.from({ length: 5 + pick(11) }, () => pick(MODULES)))]);
    profileVersion.push(0);
    files[`profiles/${name}/profile.json`] = profileJson(fixtureProfile(name));
    files[`profiles/${name}/profile.nix`] = profileText(name, profileModules[p], 0);
  }
  const ws = createTestWorkspace({ files });
  const read = (file: string) => readFileSync(join(ws.root, file), 'utf8');
  const profiles = Array.from({ length: PROFILES }, (_, p) => profileName(p));

  const drvPaths = () =>
    nixEvalJson<Record<string, string>>(ws.root, `.#packages.${SYSTEM}`, 'ps: builtins.mapAttrs (n: p: p.drvPath) ps', true);
  const installables = (names: string[]) => names.map((n) => `.#packages.${SYSTEM}.${n}`);
  /** Derivations `nix build --dry-run` says it would build: what the up-to-date check leaves to build. */
  const wouldBuild = async (names: string[]): Promise<number> => {
    if (!names.length) return 0;
    const r = await runNix('nix', ['build', '--dry-run', '--no-link', ...installables(names), ...offlineArgs()], { cwd: ws.root, keepStderrLines: 100_000 });
    if (r.code !== 0) throw new Error(`nix build --dry-run failed:\n${r.stderrTail.map(stripAnsi).join('\n')}`);
    let counting = false;
    let count = 0;
    for (const line of r.stderrTail.map(stripAnsi)) {
      if (/will be built:$/.test(line)) counting = true;
      else if (/will be (fetched|copied)/.test(line)) counting = false;
      else if (counting && /^\s+\/nix\/store\/\S+\.drv$/.test(line)) count++;
    }
    return count;
  };
  const build = async (names: string[]) => {
    if (!names.length) return;
    const r = await runNix('nix', ['build', '--no-link', ...installables(names), ...offlineArgs()], { cwd: ws.root });
    if (r.code !== 0) throw new Error(`nix build failed:\n${r.stderrTail.map(stripAnsi).join('\n')}`);
  };
  const affected = (): { names: string[]; ms: number } => {
    const start = process.hrtime.bigint();
    const r = ws.nx(['show', 'projects', '--affected', '--base=HEAD~1', '--head=HEAD', '--json']);
    if (r.code !== 0) throw new Error(`nx show projects --affected failed:\n${r.output}`);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    return { names: (JSON.parse(r.stdout) as string[]).filter((p) => /^p\d{3}$/.test(p)), ms };
  };

  try {
    let before = await drvPaths();
    await build(profiles);
    const warm = ws.nx(['show', 'projects']);
    if (warm.code !== 0) throw new Error(`nx show projects failed:\n${warm.output}`);

    const kinds = ['shared-value', 'leaf-value', 'profile-value', 'comment', 'whitespace', 'doc'];
    const edits: Edit[] = Array.from({ length: EDITS - 1 }, (_, n) => ({ kind: kinds[n % kinds.length], file: '' }));
    edits.splice(pick(edits.length), 0, { kind: 'flake.lock', file: 'flake.lock' });

    const rows: Row[] = [];
    for (const edit of edits) {
      if (edit.kind === 'shared-value' || edit.kind === 'leaf-value') {
        const i = edit.kind === 'shared-value' ? pick(MODULES / 10) : MODULES - 1 - pick(MODULES / 4);
        edit.file = modulePath(i);
        ws.write(edit.file, moduleText(i, moduleImports[i], ++moduleVersion[i]));
      } else if (edit.kind === 'profile-value') {
        const p = pick(PROFILES);
        edit.file = `profiles/${profileName(p)}/profile.nix`;
        ws.write(edit.file, profileText(profileName(p), profileModules[p], ++profileVersion[p]));
      } else if (edit.kind === 'comment' || edit.kind === 'whitespace') {
        edit.file = pick(3) === 0 ? `profiles/${profileName(pick(PROFILES))}/profile.nix` : modulePath(pick(MODULES));
        ws.write(edit.file, read(edit.file) + (edit.kind === 'comment' ? `# note ${rows.length}\n` : '\n'));
      } else if (edit.kind === 'doc') {
        edit.file = 'docs/guide.md';
        ws.write(edit.file, read(edit.file) + `\nParagraph ${rows.length}.\n`);
      } else ws.write(edit.file, read(edit.file).replace(/\n$/, '\n\n'));
      ws.commit(`${edit.kind} ${edit.file}`);

      const nx = affected();
      const after = await drvPaths();
      const changed = profiles.filter((p) => before[p] !== after[p]);
      const missed = changed.filter((p) => !nx.names.includes(p));
      const builds = await wouldBuild(nx.names);
      await build(nx.names);
      before = after;
      rows.push({ ...edit, affected: nx.names.length, changed: changed.length, missed, builds, nxMs: Math.round(nx.ms) });
      console.log(`${edit.kind} ${edit.file}: nx ${nx.names.length}, nix ${changed.length}, builds ${builds}${missed.length ? `, MISSED ${missed.join(' ')}` : ''}`);
    }

    const sum = (f: (r: Row) => number) => rows.reduce((s, r) => s + f(r), 0);
    const truePositives = sum((r) => r.changed - r.missed.length);
    const byKind = Object.fromEntries(
      [...kinds, 'flake.lock'].map((k) => {
        const of = rows.filter((r) => r.kind === k);
        return [k, { edits: of.length, affected: of.reduce((s, r) => s + r.affected, 0), changed: of.reduce((s, r) => s + r.changed, 0) }];
      }),
    );
    writeResults('affected', {
      profiles: PROFILES,
      modules: MODULES,
      edits: rows.length,
      nxAffectedVia: 'real nx show projects --affected --base=HEAD~1 --head=HEAD, NX_DAEMON=false, plugin cache warm',
      groundTruth: 'nix eval --json of every profile drvPath before and after each edit',
      recall: sum((r) => r.changed) ? truePositives / sum((r) => r.changed) : 1,
      precision: sum((r) => r.affected) ? truePositives / sum((r) => r.affected) : 1,
      affectedTotal: sum((r) => r.affected),
      changedTotal: sum((r) => r.changed),
      missedTotal: sum((r) => r.missed.length),
      buildsAfterUpToDateCheck: sum((r) => r.builds),
      buildsEqualChangedDerivations: rows.every((r) => r.builds === r.changed),
      nxAffectedMedianMs: median(rows.map((r) => r.nxMs)),
      byKind,
      rows,
    });
  } finally {
    ws.cleanup();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
