/**
 * docs/how-to/troubleshoot.md has an entry for every error class the plugin raises and every host problem
 * Nix's messages are diagnosed as: a heading naming it in backticks, followed by a cause and a fix.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { NIX_PROBLEM_KINDS } from '../../packages/nx-nixos/src/nix/diagnose';

const REPO = join(__dirname, '../..');
const SRC = join(REPO, 'packages/nx-nixos/src');
const PAGE = 'docs/how-to/troubleshoot.md';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'testing' ? [] : sourceFiles(path);
    return /\.ts$/.test(entry.name) && !/\.(spec|e2e)\.ts$/.test(entry.name) ? [path] : [];
  });
}

/** `export class FooError extends Error` (or extends another error class) in the plugin's sources. */
function errorClasses(): { name: string; file: string }[] {
  return sourceFiles(SRC).flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(/^export class (\w+) extends (\w*Error)\b/gm)].map((m) => ({ name: m[1], file: relative(REPO, file) })),
  );
}

/** The entries of the page: heading text -> the section under it. */
function sections(): Map<string, string> {
  const text = readFileSync(join(REPO, PAGE), 'utf8');
  const out = new Map<string, string>();
  const parts = text.split(/^### /m).slice(1);
  for (const part of parts) {
    const [heading, ...body] = part.split('\n');
    out.set(heading, body.join('\n'));
  }
  return out;
}

function entryFor(name: string): string | undefined {
  for (const [heading, body] of sections()) if (heading.includes(`\`${name}\``)) return body;
  return undefined;
}

describe(PAGE, () => {
  it('finds the error classes it checks', () => {
    expect(errorClasses().map((c) => c.name)).toEqual(expect.arrayContaining(['NixBuildError', 'ProfileError', 'NotReadyError']));
  });

  it.each(errorClasses().map((c) => [c.name, c.file]))('has an entry with cause and fix for %s (%s)', (name) => {
    const entry = entryFor(name);
    expect([name, entry !== undefined]).toEqual([name, true]);
    expect(entry).toMatch(/^Cause/m);
    expect(entry).toMatch(/^(Fix|Cause and fix)/m);
  });

  it.each([...NIX_PROBLEM_KINDS])('has an entry with cause and fix for the host problem %s', (kind) => {
    const entry = entryFor(kind);
    expect([kind, entry !== undefined]).toEqual([kind, true]);
    expect(entry).toMatch(/^Cause/m);
    expect(entry).toMatch(/^Fix/m);
  });
});
