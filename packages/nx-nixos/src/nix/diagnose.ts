/**
 * Host problems that make every Nix call fail, recognised from Nix's own messages (2.8 and newer), each with
 * the one fix that applies. doctor, build-image, vm-test and launch print the same diagnosis.
 */
export const NIX_PROBLEM_KINDS = ['build-users-group', 'store-not-writable', 'flakes-disabled', 'no-network', 'kvm-required'] as const;
export type NixProblemKind = (typeof NIX_PROBLEM_KINDS)[number];

export interface NixDiagnosis {
  kind: NixProblemKind;
  /** What is wrong, in one sentence. */
  problem: string;
  /** What to do about it. */
  fix: string;
}

export const OFFLINE_WAYS_OUT = 'use --offline (only what is in the local store), a binary cache you can reach, or a machine with network';

const NETWORK_REASON =
  /Couldn't resolve host|Could not resolve host|Couldn't connect to server|Connection refused|Network is unreachable|No route to host|Resolving timed out|Connection timed out|Timeout was reached/i;

/** A download Nix reports as failed for want of a network (not, say, an HTTP 404): its URL and curl's reason. */
export function networkFailure(text: string): { url: string; reason: string } | undefined {
  const match = /unable to download '([^']+)': ([^;\n]*)/.exec(text);
  return match && NETWORK_REASON.test(match[2]) ? { url: match[1], reason: match[2].trim() } : undefined;
}

interface Rule {
  kind: NixProblemKind;
  match: RegExp;
  diagnose(match: RegExpExecArray): Omit<NixDiagnosis, 'kind'>;
}

const RULES: Rule[] = [
  {
    kind: 'build-users-group',
    match: /the group '([^']*)' specified in 'build-users-group' does not exist/,
    diagnose: (m) => ({
      problem: `Nix builds as the members of the group "${m[1]}" (setting build-users-group), and that group does not exist.`,
      fix:
        'install the build users (Debian/Ubuntu: `sudo apt-get install nix-setup-systemd`, which creates the nixbld group and users), ' +
        'or, for a single-user install run as root, set `build-users-group =` in /etc/nix/nix.conf.',
    }),
  },
  {
    kind: 'store-not-writable',
    match:
      /(?:opening lock file|creating directory|cannot open|writing to file|getting status of|setting permissions on|could not set permissions on) '?(\/nix\/[^':]*)'?(?::| to \d+:) (?:Permission denied|Read-only file system|Operation not permitted)|cannot connect to socket at '([^']+)'|cannot open connection to remote store '([^']*)'/,
    diagnose: (m) => ({
      problem: m[1]
        ? `the Nix store is not writable for this user (${m[1]}).`
        : `the Nix daemon does not answer (${m[2] ?? m[3]}), so the store cannot be used.`,
      fix:
        'run as the user that owns /nix (single-user install), or start the daemon of a multi-user install ' +
        '(`sudo systemctl enable --now nix-daemon.socket`) and set NIX_REMOTE=daemon; `ls -ld /nix/store /nix/var/nix/db` shows the owner.',
    }),
  },
  {
    kind: 'flakes-disabled',
    match: /experimental Nix feature '([^']+)' is disabled/,
    diagnose: (m) => ({
      problem: `the experimental feature "${m[1]}" is disabled although the plugin enables it on the command line, so a configuration overrides it.`,
      fix:
        'remove the `experimental-features` line that drops it from the nix.conf you control (NIX_CONFIG, ~/.config/nix/nix.conf, ' +
        '$NIX_CONF_DIR/nix.conf or /etc/nix/nix.conf), or add `experimental-features = nix-command flakes` there.',
    }),
  },
  {
    kind: 'no-network',
    match: /unable to download '[^']+': /,
    diagnose: (m) => {
      const failure = networkFailure(m.input)!;
      return { problem: `no network: ${failure.url} (${failure.reason}).`, fix: `${OFFLINE_WAYS_OUT}.` };
    },
  },
  {
    kind: 'kvm-required',
    match: /a '([^']+)' with features \{([^}]*\bkvm\b[^}]*)\} is required to build '([^']+)'|Required system: '([^']+)' with features \{([^}]*\bkvm\b[^}]*)\}/,
    diagnose: (m) => ({
      problem: `${m[3] ? `${m[3]} needs` : 'a derivation needs'} a builder with the features {${m[2] ?? m[5]}}, and neither this machine nor a configured remote builder has kvm.`,
      fix: KVM_WAYS_OUT,
    }),
  },
];

export const KVM_WAYS_OUT =
  'build on a host where /dev/kvm is usable (Nix then lists kvm in its system-features), or configure a remote builder that has kvm ' +
  'in its supported features (option "builders", e.g. "ssh-ng://builder x86_64-linux - 4 1 kvm,nixos-test,big-parallel").';

/** The first host problem named in Nix's messages; network failures only count for network reasons (not a 404). */
export function diagnoseNixFailure(messages: readonly string[]): NixDiagnosis | undefined {
  for (const rule of RULES)
    for (const message of messages) {
      const match = rule.match.exec(message);
      if (!match) continue;
      if (rule.kind === 'no-network' && !networkFailure(message)) continue;
      return { kind: rule.kind, ...rule.diagnose(match) };
    }
  return undefined;
}

/** "no network: …" as one line, with the fix. */
export function formatDiagnosis(diagnosis: NixDiagnosis): string {
  const problem = diagnosis.problem.charAt(0).toUpperCase() + diagnosis.problem.slice(1);
  return diagnosis.kind === 'no-network' ? `${diagnosis.problem.replace(/\.$/, '')}; ${diagnosis.fix}` : `${problem}\nFix: ${diagnosis.fix}`;
}

export class NixHostError extends Error {
  constructor(readonly diagnosis: NixDiagnosis, context?: string) {
    super(`${context ? `${context}\n` : ''}${formatDiagnosis(diagnosis)}`);
    this.name = 'NixHostError';
  }
}
