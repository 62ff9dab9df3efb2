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

/** Options of the hygiene check: executor options, CLI flags and the plugin's `hygiene` options map onto these. */
export const hygieneOptionsSchema = z
  .object({
    scope: z.enum(['repo', 'profile']).default('repo'),
    /** Profile scope: the profile folder (default: the project root) plus these paths (the target passes the profile's Nix closure). */
    profileRoot: relativePath.optional(),
    profilePaths: z.array(glob).default([]),
    format: z.enum(REPORT_FORMATS).default('text'),
    /** Report file, relative to the workspace root (an absolute path must lie inside it too); written atomically. */
    output: z.string().min(1).optional(),
    failLevel: severity.default('error'),
    allowlist: relativePath.optional(),
    rules: z.partialRecord(z.enum(HYGIENE_RULE_IDS as [string, ...string[]]), z.union([severity, z.literal('off')], { error: 'expected "error", "warning", "note" or "off"' })).default({}),
    largeFileWarnMiB: mib.default(50),
    largeFileErrorMiB: mib.default(100),
    newFileBudgetMiB: mib.default(10),
    baseRef: z.string().min(1).optional(),
    artifactsDir: relativePath.default(() => outputDir()),
    legacyFolders: z.array(relativePath).default([]),
    sopsFiles: z.array(relativePath).default(['config/secrets.yaml']),
    untracked: z.boolean().default(true),
    exclude: z.array(glob).default(['**/test/fixtures/**', '**/__fixtures__/**']),
    maxScanKiB: z.number().int().positive('must be a positive whole number of KiB').default(1024),
  })
  .strict()
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
