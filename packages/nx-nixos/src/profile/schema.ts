import { z } from 'zod';

/** A profile, project or port name: lower-case words joined by dashes, usable as an Nx project name and a Nix attribute. */
export const NAME_PATTERN = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

const name = z
  .string()
  .regex(NAME_PATTERN, 'must be lower-case letters and digits joined by single dashes, starting with a letter');

const relativeFile = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !p.split('/').includes('..'), 'must be a relative path inside the build output');

const port = z.number().int().min(1).max(65535);

const requiredSystemFeatures = z
  .array(z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be a Nix system feature name such as "kvm"'))
  .default([])
  .describe(
    'System features the image build needs from its builder, e.g. ["kvm"] for nixpkgs\' disk images (make-disk-image runs its last step in a VM). build-image checks that this machine or a configured remote builder offers them before building.',
  );

const diskImage = z
  .object({
    kind: z.literal('disk').describe('A bootable disk image (what NixOS image builders produce).'),
    format: z.enum(['qcow2', 'raw']).default('qcow2').describe('Disk image format.'),
    file: relativeFile.describe('Path of the image file inside the build output, e.g. "nixos.qcow2".'),
    requiredSystemFeatures,
  })
  .strict();

const kernelImage = z
  .object({
    kind: z.literal('kernel').describe('Direct kernel boot, as NixOS system.build.vm does.'),
    kernel: relativeFile.describe('Path of the kernel inside the build output.'),
    initrd: relativeFile.describe('Path of the initrd inside the build output.'),
    cmdline: z.string().default('console=ttyS0').describe('Kernel command line.'),
    requiredSystemFeatures,
  })
  .strict();

const forwardedPort = z
  .object({
    name: name.describe('Port name, referenced by services and readiness.'),
    guest: port.describe('TCP port inside the guest.'),
    host: port.describe('Preferred host port on 127.0.0.1; a busy one is replaced unless --strict-ports.'),
  })
  .strict();

const service = z
  .object({
    name: z.string().min(1).describe('Human-readable service name, e.g. "GitLab".'),
    feature: name.optional().describe('Feature that must be enabled for the service to be listed.'),
    port: name.describe('Name of the forwarded port that serves it.'),
    scheme: z.enum(['http', 'https', 'ssh']).default('https').describe('URL scheme.'),
    path: z.string().startsWith('/').default('/').describe('URL path on that port.'),
  })
  .strict();

const readiness = z
  .object({
    port: name.describe('Name of the forwarded port to probe.'),
    probe: z.enum(['ssh-banner', 'http']).describe('What counts as an answer: an SSH banner, or an HTTP status that acceptStatus accepts.'),
    path: z.string().startsWith('/').default('/').describe('HTTP path for the http probe.'),
    acceptStatus: z
      .array(z.union([z.number().int().min(100).max(599), z.enum(['1xx', '2xx', '3xx', '4xx', '5xx'])]))
      .min(1)
      .default(['2xx', '3xx'])
      .describe(
        'HTTP statuses that mean ready for the http probe: codes (e.g. 401) and classes ("2xx"). Default ["2xx", "3xx"]: a 404 or a 5xx (e.g. a proxy whose backend is still starting) is not ready, and launch keeps waiting.',
      ),
    timeoutSeconds: z.number().int().positive().default(600).describe('How long launch waits for the answer.'),
  })
  .strict();

export const profileSchema = z
  .object({
    $schema: z.string().optional(),
    name: name.describe('Profile name; equals the folder name and the Nx project name.'),
    description: z.string().min(1).describe('One line on what the profile is for; shown by nx show project.'),
    system: z.string().regex(/^[a-z0-9_]+-[a-z]+$/).default('x86_64-linux').describe('Nix system of the image.'),
    flake: z
      .object({
        attribute: z.string().min(1).describe('Attribute under packages.<system> that builds the image.'),
        aliases: z.array(z.string().min(1)).default([]).describe('Further attribute names for the same image, e.g. "rave-qcow2-dev".'),
      })
      .strict()
      .describe('Where the flake builds the image.'),
    image: z.discriminatedUnion('kind', [diskImage, kernelImage]).describe('What the build output holds and how QEMU boots it.'),
    vm: z
      .object({
        attribute: z
          .string()
          .regex(/^[A-Za-z0-9_'-]+(\.[A-Za-z0-9_'-]+)*$/, 'must be a flake attribute path such as nixosConfigurations.development.config.system.build.vm')
          .optional()
          .describe('Flake attribute path of the development VM (a NixOS system.build.vm: bin/run-<name>-vm). Default: nixosConfigurations.<name>.config.system.build.vm.'),
      })
      .strict()
      .default({})
      .describe('The development VM (build-vm, launch-vm): the system booted with the host\'s /nix/store shared, no disk image built.'),
    features: z.record(name, z.boolean()).default({}).describe('Services and capabilities the profile enables.'),
    resources: z
      .object({
        memoryMiB: z.number().int().min(128).describe('Guest memory in MiB.'),
        cpus: z.number().int().min(1).max(256).describe('Guest CPUs.'),
        diskGiB: z.number().int().min(1).describe('Size of the image disk in GiB.'),
      })
      .strict()
      .describe('Resources of the VM when launched.'),
    ports: z.array(forwardedPort).default([]).describe('Guest TCP ports forwarded to 127.0.0.1 on launch.'),
    services: z.array(service).default([]).describe('Services whose URLs launch prints (only those whose feature is enabled).'),
    readiness: readiness.optional().describe('How launch decides the VM is ready; without it, when QEMU reports running.'),
    tests: z.array(z.string().min(1)).default([]).describe('Names of checks.<system>.<test> that cover this profile.'),
  })
  .strict()
  .superRefine((profile, ctx) => {
    const portNames = new Set<string>();
    profile.ports.forEach((p, i) => {
      if (portNames.has(p.name)) ctx.addIssue({ code: 'custom', path: ['ports', i, 'name'], message: `duplicate port name "${p.name}"` });
      portNames.add(p.name);
    });
    profile.services.forEach((s, i) => {
      if (!portNames.has(s.port)) ctx.addIssue({ code: 'custom', path: ['services', i, 'port'], message: `no port named "${s.port}" in ports` });
      if (s.feature !== undefined && !(s.feature in profile.features))
        ctx.addIssue({ code: 'custom', path: ['services', i, 'feature'], message: `feature "${s.feature}" is not declared in features` });
    });
    if (profile.readiness && !portNames.has(profile.readiness.port))
      ctx.addIssue({ code: 'custom', path: ['readiness', 'port'], message: `no port named "${profile.readiness.port}" in ports` });
  });

export type Profile = z.infer<typeof profileSchema>;
export type ProfileInput = z.input<typeof profileSchema>;
export type ForwardedPort = Profile['ports'][number];
export type ProfileService = Profile['services'][number];

/** Services whose feature is enabled (or that need none), in declaration order. */
export function enabledServices(profile: Profile): ProfileService[] {
  return profile.services.filter((s) => s.feature === undefined || profile.features[s.feature] === true);
}

/** JSON Schema for editors; written to schemas/profile.schema.json by `nx-nixos schema`. */
export function profileJsonSchema(): object {
  return {
    ...z.toJSONSchema(profileSchema, { io: 'input', unrepresentable: 'any' }),
    title: 'NixOS profile (@rave/nx-nixos)',
    description: '<profilesDir>/<name>/profile.json: metadata of one NixOS profile, read by the Nx plugin and by flake.nix.',
  };
}
