/**
 * Static check of the modules a NixOS VM test gives its nodes: from the test file it follows the
 * imports (the workspace's Nix import graph: every path literal a file names) and reports each
 * definition of an option the test framework owns in the nodes, and each import it cannot follow
 * that is not recorded as read upstream (UPSTREAM_MODULES_IN_TESTS). Which options those are depends
 * on node.pkgsReadOnly: runNixOSTest sets node.pkgs, so it defaults to true and every nixpkgs.* option
 * is read-only (READ_ONLY_IN_TEST_NODES); a test that sets `node.pkgsReadOnly = false` lets its
 * nodes set nixpkgs.* and build their own pkgs, which still defines _module.args.pkgs
 * (SET_BY_NIXPKGS_IN_TEST_NODES).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { importClosure, resolveFileImports } from '../../packages/nx-nixos/src/nix/imports';
import { importElements, scanModuleFile, testModuleSettings } from './nix-options';
import { READ_ONLY_IN_TEST_NODES, SET_BY_NIXPKGS_IN_TEST_NODES, UPSTREAM_MODULES_IN_TESTS } from './upstream-options';

export interface TestNodeFinding {
  file: string;
  line: number;
  message: string;
}

export interface TestNodeCheck {
  /** Every file the entry reaches, itself included, workspace-relative. */
  files: string[];
  /** Whether the test leaves node.pkgsReadOnly at runNixOSTest's default (true). */
  pkgsReadOnly: boolean;
  findings: TestNodeFinding[];
}

/** Whether a test module sets `node.pkgsReadOnly = false`. */
export function setsPkgsWritable(file: string, source: string): boolean {
  return testModuleSettings(file, source).some((s) => s.path.join('.') === 'node.pkgsReadOnly' && s.value === 'false');
}

export function checkTestNodes(
  root: string,
  entry: string,
  readOnly: readonly string[][] = READ_ONLY_IN_TEST_NODES,
  upstreamModules: Record<string, string> = UPSTREAM_MODULES_IN_TESTS,
  writable: readonly string[][] = SET_BY_NIXPKGS_IN_TEST_NODES,
): TestNodeCheck {
  const read = (file: string) => readFileSync(join(root, file), 'utf8');
  const load = (file: string) => (existsSync(join(root, file)) ? resolveFileImports(root, file, read(file)) : undefined);
  const { files } = importClosure(root, [entry], load);
  const pkgsReadOnly = !setsPkgsWritable(entry, read(entry));
  const owned = pkgsReadOnly ? readOnly : writable;
  const why = pkgsReadOnly
    ? `which runNixOSTest makes read-only in test nodes (node.pkgs); ${entry} reaches this file: set node.pkgsReadOnly = false in it, or keep this module out`
    : `which the nodes' own nixpkgs module defines (${entry} sets node.pkgsReadOnly = false) and this file reaches`;
  const findings: TestNodeFinding[] = [];
  for (const file of files.filter((f) => f.endsWith('.nix') && existsSync(join(root, f)))) {
    const source = read(file);
    for (const use of scanModuleFile(file, source, owned).uses)
      if (use.kind === 'set') findings.push({ file, line: use.line, message: `sets ${use.path.join('.')}, ${why}` });
    for (const element of importElements(file, source)) {
      if (element.kind === 'expression' && !(element.text in upstreamModules))
        findings.push({
          file,
          line: element.line,
          message: `imports ${element.text}, which cannot be followed statically: read it upstream, then record it in UPSTREAM_MODULES_IN_TESTS (tools/checks/upstream-options.ts)`,
        });
      if (element.kind === 'path')
        for (const m of element.text.matchAll(/(?:^| )(\.\.?\/\S*)/g))
          if (relative(root, resolve(root, dirname(file), m[1])).startsWith('..'))
            findings.push({ file, line: element.line, message: `imports ${m[1]}, outside the workspace` });
    }
  }
  return { files, pkgsReadOnly, findings: findings.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line) };
}
