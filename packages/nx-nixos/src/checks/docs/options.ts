import { z } from 'zod';
import { REPORT_FORMATS } from '../../report/format';

/**
 * Options of docs-check, defined once: the executor's schema.json is generated from this (`npx nx-nixos reference`),
 * the CLI's flags and --help come from that, and the CLI checks nx.json's `docsCheck` options with it.
 */
export const docsCheckOptionsSchema = z
  .object({
    docsDir: z.string().optional().describe("Docs folder, relative to the workspace root. Default: the project's root."),
    format: z.enum(REPORT_FORMATS).default('text').describe("Report format on stdout: text for people, json, SARIF 2.1.0, or GitHub workflow annotations."),
    fix: z.boolean().default(false).describe("Rewrite retired commands and links to moved or stub pages in place (atomic writes), then report what is left."),
    allowlist: z.string().optional().describe("JSON file (relative to the workspace root) of accepted findings: [{ \"rule\", \"path\", \"hash\", \"reason\" }], hash from the json output or \"*\"."),
    failLevel: z.enum(['error', 'warning', 'note']).default('error').describe("Lowest severity that makes the check fail (exit 1)."),
    readmes: z.boolean().default(true).describe("Also check every README.md in the repository, not only the docs folder."),
    exclude: z.array(z.string()).default(['**/test/fixtures/**', '**/__fixtures__/**']).describe("Globs of README.md files outside the docs folder that are not checked (they can still be link targets)."),
    moved: z.record(z.string(), z.string()).optional().describe("Pages that moved: old workspace-relative path -> new path. Links to an old path are findings that --fix rewrites."),
    retiredCommands: z
      .array(
        z
          .object({
            pattern: z.string().describe("RE2 regular expression (linear time) matched inside a code line."),
            replacement: z.string().describe("The command to use instead; $1 to $9 stand for the pattern's capture groups."),
            groupDefault: z.string().optional().describe("Text for a capture group that did not match. Default: empty."),
            autofix: z.boolean().optional().describe("False when the replacement needs a person; --fix then leaves it. Default: true."),
          })
          .strict(),
      )
      .default([])
      .describe("Commands that no longer exist and what replaces them (docs/retired-command): [{ \"pattern\", \"replacement\", \"groupDefault\", \"autofix\" }]."),
    stubMaxWords: z.number().default(30).describe("A page with at most this many words of its own, no code or tables, and only links is reported as a stub."),
    disabledRules: z.array(z.string()).optional().describe("Rule ids to leave out, e.g. [\"docs/stub\"]."),
    graph: z.boolean().default(true).describe("Check nx commands quoted in the docs against the project graph (docs/stale-command)."),
  })
  .strict()
  .meta({ title: 'docs-check', description: "Checks the docs folder and every README.md: links and anchors (as GitHub resolves them), the Divio structure, orphan and stub pages, and every nx command quoted in code against the project graph. Exit 0 clean, 1 findings, 2 tool error." });

export type DocsCheckOptions = z.input<typeof docsCheckOptionsSchema>;
