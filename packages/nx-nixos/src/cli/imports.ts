import { existsSync, readFileSync, statSync } from 'node:fs';
import { relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { diskView, FileImports, importClosure, resolveFileImports } from '../nix/imports';
import type { CliCommand } from './main';

const USAGE = `Usage: nx-nixos imports <file-or-dir>... [--json] [--root DIR]

Prints each Nix file's statically resolved path dependencies (files, whole folders), its external
references (<nixpkgs> lookups, absolute and ~/ paths, paths leaving the workspace) and the closure:
every file its evaluation can read. A folder argument means every .nix file below it.
Paths are relative to --root (default: the current directory). Nix is not run.`;

/** Lazily parses workspace files, once each. */
export function importsLoader(root: string): (file: string) => FileImports | undefined {
  const cache = new Map<string, FileImports | undefined>();
  return (file) => {
    if (!cache.has(file)) {
      const abs = resolve(root, file);
      let imports: FileImports | undefined;
      try {
        if (statSync(abs).isFile()) imports = resolveFileImports(root, file, readFileSync(abs, 'utf8'));
      } catch {
        imports = undefined;
      }
      cache.set(file, imports);
    }
    return cache.get(file);
  };
}

export const command: CliCommand = {
  summary: "Print Nix files' static path dependencies and closures (the graph behind nx affected).",
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { json: { type: 'boolean' }, root: { type: 'string' }, help: { type: 'boolean' } },
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    if (positionals.length === 0) {
      console.error(`nx-nixos imports: give a .nix file or a folder.\n\n${USAGE}`);
      return 2;
    }
    const root = resolve(values.root ?? '.');
    const entries: string[] = [];
    for (const arg of positionals) {
      const abs = resolve(arg);
      const rel = relative(root, abs);
      if (!existsSync(abs)) {
        console.error(`nx-nixos imports: ${arg}: no such file or folder.`);
        return 2;
      }
      if (rel.startsWith('..')) {
        console.error(`nx-nixos imports: ${arg} is outside the root ${root}; pass --root to a folder containing it.`);
        return 2;
      }
      if (statSync(abs).isDirectory()) entries.push(...diskView.listFiles(abs).filter((f) => f.endsWith('.nix')).map((f) => relative(root, f)));
      else entries.push(rel);
    }
    if (entries.length === 0) {
      console.error(`nx-nixos imports: no .nix files under ${positionals.join(', ')}.`);
      return 2;
    }
    const load = importsLoader(root);
    const report = entries.map((e) => e.split(sep).join('/')).map((file) => {
      const imports = load(file) as FileImports;
      const closure = importClosure(root, [file], load);
      return { ...imports, closure: { files: closure.files, folders: closure.folders } };
    });
    if (values.json) {
      process.stdout.write(JSON.stringify({ root, files: report }, null, 2) + '\n');
      return 0;
    }
    const lines: string[] = [];
    for (const r of report) {
      lines.push(r.file);
      for (const d of r.dependencies) lines.push(`  ${d.kind === 'folder' ? 'folder' : 'file  '} ${d.path}  (line ${d.line}: ${d.literal})`);
      for (const x of r.external) lines.push(`  external ${x.text}  (line ${x.line}, ${x.kind})`);
      lines.push(`  closure: ${r.closure.files.length} files, ${r.closure.folders.length} whole folders`);
      for (const f of r.closure.folders) lines.push(`    ${f}/`);
      for (const f of r.closure.files) lines.push(`    ${f}`);
    }
    console.log(lines.join('\n'));
    return 0;
  },
};
