import { offlineArgs, runNix, stripAnsi } from './command';

/** `nix eval --json <installable> --apply <fn>`: small values only (never a whole derivation). */
export async function nixEvalJson<T>(cwd: string, installable: string, apply: string, offline = false): Promise<T> {
  const result = await runNix('nix', ['eval', '--json', installable, '--apply', apply, ...(offline ? offlineArgs() : [])], { cwd });
  if (result.code !== 0)
    throw new Error(`nix eval ${installable} failed:\n${result.stderrTail.map(stripAnsi).filter((l) => !/Git tree .* is dirty/.test(l)).join('\n')}`);
  return JSON.parse(result.stdout) as T;
}

/** System features a derivation needs from its builder, e.g. ["kvm", "nixos-test"] for NixOS VM tests. */
export function requiredSystemFeatures(cwd: string, installable: string, offline = false): Promise<string[]> {
  return nixEvalJson<string[]>(cwd, installable, 'd: d.requiredSystemFeatures or []', offline);
}

/** `nix eval --json --expr <expr>` in pure mode. */
export async function nixEvalExpr<T>(cwd: string, expr: string): Promise<T> {
  const result = await runNix('nix', ['eval', '--json', '--expr', expr], { cwd });
  if (result.code !== 0) throw new Error(`nix eval --expr ${JSON.stringify(expr)} failed:\n${result.stderrTail.map(stripAnsi).join('\n')}`);
  return JSON.parse(result.stdout) as T;
}
