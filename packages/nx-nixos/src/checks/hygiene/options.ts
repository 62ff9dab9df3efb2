import { z } from 'zod';
import { globProblem } from '../../glob/glob';
import { REPORT_FORMATS } from '../../report/format';
import { HYGIENE_RULE_IDS } from './rules';
import { outputDir } from '../../layout';

const severity = z.enum(['error', 'warning', 'note']);
const relativePath = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !p.split('/').includes('..'), 'must be a path relative to the workspace root, without ".."');
/** A glob of the plugin's dialect (docs/reference/globs.md). */
const glob = z
  .string()
  .min(1)
  .superRefine((value, ctx) => {
    const problem = value === '' ? undefined : globProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: `${problem}; see docs/reference/globs.md` });
  });
const mib = z.number().positive('must be a positive number of MiB');

/**
 * Options of the hygiene check, defined once: the executor's schema.json is generated from this (`npx nx-nixos
 * reference`), the CLI's flags and --help come from that, and the executor, the CLI and nx.json are validated by it.
 */
export const hygieneOptionsSchema = z
  .object({
    scope: z.enum(['repo', 'profile']).default('repo').describe("repo: every tracked, untracked and ignored file of the working tree (not cached). profile: the tracked files of the profile folder plus profilePaths (cached; the inputs include Git's index entries of the scope, .gitattributes, .sops.yaml and the allowlist)."),
    profileRoot: relativePath.optional().describe("Profile folder for scope profile, relative to the workspace root. Default: the project's root."),
    profilePaths: z.array(glob).default([]).describe("Scope profile: globs (workspace-relative) checked besides the profile folder. <profile>:hygiene passes the profile's static Nix closure (its profile.nix and flake.nix, as in build-image's inputs) plus the plugin's nixInputs; paths given here are added."),
    format: z.enum(REPORT_FORMATS).default('text').describe("Report format: text for people (grouped by file, with fixes), json, SARIF 2.1.0, or GitHub workflow annotations."),
    output: z.string().min(1).optional().describe("Write the report to this file (relative to the workspace root, and inside it) atomically instead of stdout; stdout then gets a one-line summary."),
    failLevel: severity.default('error').describe("Lowest severity that makes the check fail (exit 1)."),
    allowlist: relativePath.optional().describe("JSON file (relative to the workspace root) of accepted findings: [{ \"rule\", \"path\", \"hash\", \"reason\" }], hash from the json output or \"*\". Unused entries are reported."),
    rules: z.partialRecord(z.enum(HYGIENE_RULE_IDS as [string, ...string[]]), z.union([severity, z.literal('off')], { error: 'expected "error", "warning", "note" or "off"' })).default({}).describe("Rule id -> severity (error, warning, note) or off, e.g. { \"stale/legacy-reference\": \"error\", \"size/large\": \"off\" }."),
    largeFileWarnMiB: mib.default(50).describe("A committed file above this size (MiB) that Git LFS does not track is a warning (size/large)."),
    largeFileErrorMiB: mib.default(100).describe("A committed file above this size (MiB) that Git LFS does not track is an error (size/large)."),
    newFileBudgetMiB: mib.default(10).describe("A file added since baseRef above this size (MiB) that Git LFS does not track is an error (size/large-new)."),
    baseRef: z.string().min(1).optional().describe("Git ref to compare with for size/large-new (files added since the merge base with HEAD), e.g. origin/main. Without it the rule does not run."),
    artifactsDir: relativePath.default(() => outputDir()).describe("Folder where images and other build outputs belong; only its README.md may be committed."),
    legacyFolders: z.array(relativePath).default([]).describe("Legacy folders (e.g. legacy/archive) that live code and docs must not refer to (stale/legacy-reference)."),
    sopsFiles: z.array(relativePath).default(['config/secrets.yaml']).describe("SOPS files to check besides those matched by the creation_rules of .sops.yaml."),
    untracked: z.boolean().default(true).describe("Scope repo: also check untracked and ignored files (stray images). Ignored folders such as node_modules/ are not walked."),
    exclude: z.array(glob).default(['**/test/fixtures/**', '**/__fixtures__/**']).describe("Globs of files whose contents are not scanned for secrets and legacy references (image, size, LFS and artifacts rules still apply)."),
    maxScanKiB: z.number().int().positive('must be a positive whole number of KiB').default(1024).describe("Text files up to this size (KiB) are scanned for secrets; larger files get only the image, size and LFS rules."),
  })
  .strict()
  .meta({ title: 'hygiene', description: "Checks the repository (scope repo) or the files a profile reads (scope profile) for VM disk images outside the artifacts folder, large files outside Git LFS, broken LFS pointers, plaintext secrets (Nix options, SOPS files, private keys, well-known tokens) and references to legacy folders. Exit 0 clean, 1 findings, 2 tool error." })
  .refine((o) => o.largeFileWarnMiB <= o.largeFileErrorMiB, {
    message: 'must not be above largeFileErrorMiB',
    path: ['largeFileWarnMiB'],
  });

export type HygieneOptionsInput = z.input<typeof hygieneOptionsSchema>;
export type HygieneOptions = z.output<typeof hygieneOptionsSchema>;

/** Validates options; throws one message per problem, naming the option and what is allowed. */
export function parseHygieneOptions(input: unknown, where = 'hygiene options'): HygieneOptions {
  const parsed = hygieneOptionsSchema.safeParse(input ?? {});
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys' && issue.path[0] === 'rules')
      return `"rules": unknown rule(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}; known rules: ${HYGIENE_RULE_IDS.join(', ')}`;
    if (issue.code === 'unrecognized_keys') return `unknown option(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}; see docs/reference/hygiene.md for the options`;
    const path = issue.path.join('.') || '(root)';
    return `"${path}": ${issue.message}`;
  });
  throw new Error(`${where}: ${problems.join('; ')}.`);
}
