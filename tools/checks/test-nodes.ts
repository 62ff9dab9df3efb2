/**
 * Static check of the modules a NixOS VM test gives its nodes: from the test file it follows the
 * imports (the workspace's Nix import graph: every path literal a file names) and reports each
 * definition of an option that runNixOSTest makes read-only (READ_ONLY_IN_TEST_NODES), and each
 * import it cannot follow that is not recorded as read upstream (UPSTREAM_MODULES_IN_TESTS).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { importClosure, resolveFileImports } from '../../packages/nx-nixos/src/nix/imports';
import { importElements, scanModuleFile } from './nix-options';
import { READ_ONLY_IN_TEST_NODES, UPSTREAM_MODULES_IN_TESTS } from './upstream-options';

export interface TestNodeFinding {
  file: string;
  line: number;
  message: string;
}

export interface TestNodeCheck {
  /** Every file the entry reaches, itself included, workspace-relative. */
  files: string[];
  findings: TestNodeFinding[];
}

export function checkTestNodes(
  root: string,
  entry: string,
  readOnly: readonly string[][] = READ_ONLY_IN_TEST_NODES,
  upstreamModules: Record<string, string> = UPSTREAM_MODULES_IN_TESTS,
): TestNodeCheck {
  const read = (file: string) => readFileSync(join(root, file), 'utf8');
  const load = (file: string) => (existsSync(join(root, file)) ? resolveFileImports(root, file, read(file)) : undefined);
  const { files } = importClosure(root, [entry], load);
  const findings: TestNodeFinding[] = [];
  for (const file of files.filter((f) => f.endsWith('.nix') && existsSync(join(root, f)))) {
    const source = read(file);
    for (const use of scanModuleFile(file, source, readOnly).uses)
      if (use.kind === 'set')
        findings.push({
          file,
          line: use.line,
          message: `sets ${use.path.join('.')}, which runNixOSTest makes read-only in test nodes (node.pkgs); ${entry} reaches this file`,
        });
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
  return { files, findings: findings.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line) };
}
