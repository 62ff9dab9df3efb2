import { realpathSync, statSync } from 'node:fs';
import { relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { diskView, FileImports, importClosure, leavesRoot, nixSourceReader, resolveFileImports } from '../nix/imports';
import type { CliCommand } from './main';

const USAGE = `Usage: nx-nixos imports <file-or-dir>... [--json] [--root DIR]

Prints each Nix file's statically resolved path dependencies (files, whole folders), its external
references (<nixpkgs> lookups, absolute and ~/ paths, paths leaving the workspace) and the closure:
every file its evaluation can read. A folder argument means every .nix file below it.
Paths are relative to --root (default: the current directory). Nix is not run.
Only regular files inside the root are read: a symlink that leads out of it, a FIFO or a device is
reported as not read.`;

/** Lazily parses workspace files, once each; `problems` collects the files that could not be read, and why. */
export function importsLoader(root: string, problems = new Map<string, string>()): (file: string) => FileImports | undefined {
  const cache = new Map<string, FileImports | undefined>();
  const read = nixSourceReader(root);
  return (file) => {
    if (!cache.has(file)) {
      const source = read(file);
      // A missing file is shown as a dependency already; anything else there that was not read is named.
      if (source.problem !== undefined && !source.missing) problems.set(file, source.problem);
      cache.set(file, source.text === undefined ? undefined : resolveFileImports(root, file, source.text));
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
    let root: string;
    try {
      root = realpathSync(resolve(values.root ?? '.'));
    } catch (e) {
      console.error(`nx-nixos imports: --root ${values.root ?? '.'}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such folder' : (e as Error).message}.`);
      return 2;
    }
    const entries: string[] = [];
    for (const arg of positionals) {
      let real: string;
      try {
        real = realpathSync(resolve(arg));
      } catch {
        console.error(`nx-nixos imports: ${arg}: no such file or folder.`);
        return 2;
      }
      // Symlinks resolved first: an argument inside the root that leads out of it is outside.
      const rel = relative(root, real);
      if (leavesRoot(rel)) {
        console.error(`nx-nixos imports: ${arg} is outside the root ${root}${real !== resolve(arg) ? ` (it leads to ${real})` : ''}; pass --root to a folder containing it.`);
        return 2;
      }
      if (statSync(real).isDirectory()) {
        for (const f of diskView.listFiles(real)) if (f.endsWith('.nix')) entries.push(relative(root, f));
      } else entries.push(rel);
    }
    if (entries.length === 0) {
      console.error(`nx-nixos imports: no .nix files under ${positionals.join(', ')}.`);
      return 2;
    }
    const problems = new Map<string, string>();
    const load = importsLoader(root, problems);
    const report: Array<FileImports & { closure: { files: string[]; folders: string[] } }> = [];
    for (const file of entries.map((e) => e.split(sep).join('/'))) {
      const imports = load(file);
      if (!imports) continue;
      const closure = importClosure(root, [file], load);
      report.push({ ...imports, closure: { files: closure.files, folders: closure.folders } });
    }
    const unread = [...problems].map(([file, problem]) => `nx-nixos imports: ${file} was not read: it ${problem}.`);
    if (report.length === 0) {
      for (const line of unread) console.error(line);
      console.error('nx-nixos imports: no readable .nix file to show.');
      return 2;
    }
    if (values.json) {
      const notRead = [...problems].map(([file, problem]) => ({ file, problem }));
      process.stdout.write(JSON.stringify({ root, files: report, ...(notRead.length ? { notRead } : {}) }, null, 2) + '\n');
    } else {
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
    }
    for (const line of unread) console.error(line);
    return 0;
  },
};
