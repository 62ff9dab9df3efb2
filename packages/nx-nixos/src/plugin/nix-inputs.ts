import type { NixEdges, NixImportIndex } from './nix-index';
import type { ResolvedPluginOptions } from './options';

/** True for `root` and every path below it. */
const under = (roots: readonly string[]) => (path: string) => roots.some((r) => path === r || path.startsWith(`${r}/`));

/**
 * Files a profile's image and tests can read: the closure of its profile.nix and of flake.nix, except that
 * the flake's listing of the profiles folder brings in only this profile. Folders become `/**` globs.
 * `gated`: folders left out (the feature modules the profile does not turn on).
 */
export function profileNixInputs(index: NixImportIndex, profileRoot: string, options: ResolvedPluginOptions, gated: readonly string[] = []): string[] {
  return entryNixInputs(index, `${profileRoot}/profile.nix`, options, gated);
}

/**
 * Files the evaluation of `entry` (a profile.nix, a module's test.nix) through the flake can read, less the
 * `gated` folders. The flake's own closure leaves out the profiles folder and every feature module
 * (`index.featureModuleRoots`): what it imports from them, an entry reaches itself.
 */
export function entryNixInputs(index: NixImportIndex, entry: string, options: ResolvedPluginOptions, gated: readonly string[] = []): string[] {
  const flakeGated = [options.profilesDir, ...index.featureModuleRoots];
  index.flakeInputs ??= closureInputs(index, index.closure(['flake.nix'], under(flakeGated)), flakeGated);
  const inputs = closureInputs(index, index.closure([entry], under(gated)), gated);
  const own = new Set(inputs);
  for (const input of index.flakeInputs) if (!own.has(input)) inputs.push(input);
  return inputs.sort();
}

/**
 * A closure as input globs: whole folders as `folder/**\/*`, and the files no such folder covers. A folder
 * that holds a gated one is not a glob (Nx would count an edit of the gated folder as a change of this
 * input): its files in the closure are listed one by one.
 */
function closureInputs(index: NixImportIndex, closure: NixEdges, gated: readonly string[] = []): string[] {
  const whole = closure.folders.filter((f) => !gated.some((g) => f === '.' || g.startsWith(`${f}/`)));
  const covered = whole.map((f) => (f === '.' ? '' : `${f}/`));
  const inputs = covered.map((folder) => `{workspaceRoot}/${folder}**/*`);
  for (const file of closure.files) {
    let inFolder = false;
    for (let i = 0; i < covered.length && !inFolder; i++) inFolder = file.startsWith(covered[i]);
    if (!inFolder) inputs.push(index.input(file));
  }
  return inputs;
}
