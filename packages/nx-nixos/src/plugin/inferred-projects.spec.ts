import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fixtureProfile, profileJson } from '../testing/workspace';
import { createNodesForFiles } from './create-nodes';

/** The whole inferred projects of a small workspace, so that a change of any target, input or output shows in review. */
describe('inferred projects', () => {
  let root: string;
  const write = (file: string, text: string) => {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), text);
  };

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'nx-nixos-inferred-'));
    process.env.NX_WORKSPACE_DATA_DIRECTORY = join(root, '.nx/workspace-data');
    write('flake.nix', '{ outputs = _: { checks = import ./infra/nixos/lib/checks.nix; }; }');
    write('infra/nixos/lib/checks.nix', '{ }\n');
    write('infra/nixos/configs/base.nix', '{ imports = [ ../modules/services/web ../modules/services/db ]; }\n');
    write('infra/nixos/modules/services/web/default.nix', '{ }\n');
    write('infra/nixos/modules/services/web/test.nix', '{ imports = [ ../../../tests/module-node.nix ]; }\n');
    write('infra/nixos/modules/services/db/default.nix', '{ }\n');
    write('infra/nixos/tests/module-node.nix', '{ imports = [ ../configs/base.nix ]; }\n');
    write('profiles/dev/profile.json', profileJson(fixtureProfile('dev', { tests: ['smoke'], features: { web: true, db: false } })));
    write('profiles/dev/profile.nix', '{ imports = [ ../../infra/nixos/configs/base.nix ]; }\n');
    write('docs/README.md', '# Docs');
  });
  afterEach(() => {
    delete process.env.NX_WORKSPACE_DATA_DIRECTORY;
    rmSync(root, { recursive: true, force: true });
  });

  it('are the repo, docs, module and profile projects', async () => {
    const files = [
      'flake.nix',
      'docs/README.md',
      'profiles/dev/profile.json',
      'profiles/dev/profile.nix',
      'infra/nixos/lib/checks.nix',
      'infra/nixos/configs/base.nix',
      'infra/nixos/modules/services/web/default.nix',
      'infra/nixos/modules/services/web/test.nix',
      'infra/nixos/modules/services/db/default.nix',
      'infra/nixos/tests/module-node.nix',
    ];
    const results = await createNodesForFiles(files, { featureModules: 'infra/nixos/modules/services/{feature}' }, { workspaceRoot: root, nxJsonConfiguration: {} });
    // The snapshot sorts keys: the order of projects and targets, which Nx shows, is checked on its own.
    expect(results.map(([file, result]) => [file, Object.entries(result.projects ?? {}).map(([projectRoot, p]) => [projectRoot, ...Object.keys(p.targets ?? {})])])).toMatchInlineSnapshot(`
[
  [
    "flake.nix",
    [
      [
        ".",
        "doctor",
        "hygiene",
      ],
    ],
  ],
  [
    "docs/README.md",
    [
      [
        "docs",
        "docs-check",
      ],
    ],
  ],
  [
    "infra/nixos/lib/checks.nix",
    [
      [
        "infra/nixos/lib",
      ],
    ],
  ],
  [
    "infra/nixos/configs/base.nix",
    [
      [
        "infra/nixos/configs",
      ],
    ],
  ],
  [
    "infra/nixos/modules/services/web/default.nix",
    [
      [
        "infra/nixos/modules/services/web",
        "vm-test",
        "vm-test-interactive",
      ],
    ],
  ],
  [
    "infra/nixos/modules/services/db/default.nix",
    [
      [
        "infra/nixos/modules/services/db",
      ],
    ],
  ],
  [
    "infra/nixos/tests/module-node.nix",
    [
      [
        "infra/nixos/tests",
      ],
    ],
  ],
  [
    "profiles/dev/profile.json",
    [
      [
        "profiles/dev",
        "build-image",
        "vm-test",
        "vm-test-interactive",
        "launch",
        "start",
        "build-vm",
        "launch-vm",
        "start-vm",
        "stop",
        "status",
        "ssh",
        "secrets",
        "hygiene",
      ],
    ],
  ],
]
`);
    expect(JSON.parse(JSON.stringify(results).split(root).join('<root>'))).toMatchInlineSnapshot(`
[
  [
    "flake.nix",
    {
      "projects": {
        ".": {
          "metadata": {
            "description": "Repository-wide targets of the NixOS workspace.",
            "technologies": [
              "nix",
            ],
          },
          "name": "repo",
          "root": ".",
          "tags": [
            "type:repo",
          ],
          "targets": {
            "doctor": {
              "cache": false,
              "continuous": false,
              "executor": "@rave/nx-nixos:doctor",
              "metadata": {
                "description": "Check that Nix builds here and is new enough for the pinned nixpkgs, which targets need KVM, QEMU and free disk space, each with a fix hint.",
                "help": {
                  "command": "npx nx-nixos help doctor",
                  "example": {
                    "options": {},
                  },
                },
                "technologies": [
                  "nix",
                  "qemu",
                ],
              },
            },
            "hygiene": {
              "cache": false,
              "continuous": false,
              "executor": "@rave/nx-nixos:hygiene",
              "metadata": {
                "description": "Check the whole working tree for stray VM images, files that belong in LFS, plaintext secrets and stale references.",
                "help": {
                  "command": "npx nx-nixos hygiene --help",
                  "example": {
                    "options": {
                      "format": "sarif",
                    },
                  },
                },
                "technologies": [
                  "nix",
                ],
              },
              "options": {
                "scope": "repo",
              },
            },
          },
        },
      },
    },
  ],
  [
    "docs/README.md",
    {
      "projects": {
        "docs": {
          "metadata": {
            "description": "Operator and developer documentation (Divio: tutorials, how-to, reference, explanation).",
          },
          "name": "docs",
          "root": "docs",
          "tags": [
            "type:docs",
          ],
          "targets": {
            "docs-check": {
              "cache": true,
              "continuous": false,
              "executor": "@rave/nx-nixos:docs-check",
              "inputs": [
                "{projectRoot}/**/*",
                "{workspaceRoot}/**/README.md",
                "{workspaceRoot}/nx.json",
                "{workspaceRoot}/profiles/*/profile.json",
              ],
              "metadata": {
                "description": "Check links and anchors, the Divio structure, stub pages, and every nx command quoted in the docs against the project graph.",
                "help": {
                  "command": "npx nx-nixos docs-check --help",
                  "example": {
                    "options": {
                      "format": "github",
                    },
                  },
                },
                "technologies": [
                  "markdown",
                ],
              },
              "options": {},
            },
          },
        },
      },
    },
  ],
  [
    "infra/nixos/lib/checks.nix",
    {
      "projects": {
        "infra/nixos/lib": {
          "metadata": {
            "description": "Nix modules in infra/nixos/lib",
            "technologies": [
              "nix",
            ],
          },
          "name": "nix-lib",
          "root": "infra/nixos/lib",
          "tags": [
            "type:nix-module",
          ],
        },
      },
    },
  ],
  [
    "infra/nixos/configs/base.nix",
    {
      "projects": {
        "infra/nixos/configs": {
          "metadata": {
            "description": "Nix modules in infra/nixos/configs",
            "technologies": [
              "nix",
            ],
          },
          "name": "nix-configs",
          "root": "infra/nixos/configs",
          "tags": [
            "type:nix-module",
          ],
        },
      },
    },
  ],
  [
    "infra/nixos/modules/services/web/default.nix",
    {
      "projects": {
        "infra/nixos/modules/services/web": {
          "metadata": {
            "description": "Nix modules in infra/nixos/modules/services/web",
            "targetGroups": {
              "NixOS": [
                "vm-test",
                "vm-test-interactive",
              ],
            },
            "technologies": [
              "nix",
            ],
          },
          "name": "nix-modules-services-web",
          "root": "infra/nixos/modules/services/web",
          "tags": [
            "type:nix-module",
          ],
          "targets": {
            "vm-test": {
              "cache": true,
              "continuous": false,
              "executor": "@rave/nx-nixos:vm-test",
              "inputs": [
                "{projectRoot}/**/*",
                "{workspaceRoot}/flake.nix",
                "{workspaceRoot}/flake.lock",
                "{workspaceRoot}/infra/nixos/configs/base.nix",
                "{workspaceRoot}/infra/nixos/lib/checks.nix",
                "{workspaceRoot}/infra/nixos/modules/services/web/default.nix",
                "{workspaceRoot}/infra/nixos/modules/services/web/test.nix",
                "{workspaceRoot}/infra/nixos/tests/module-node.nix",
                {
                  "runtime": "nix --version 2>/dev/null || echo nix-missing",
                },
              ],
              "metadata": {
                "description": "Run the NixOS VM test of infra/nixos/modules/services/web (checks.<system>.module-web, from infra/nixos/modules/services/web/test.nix); JUnit report in artifacts/tests/nix-modules-services-web.",
                "help": {
                  "command": "npx nx-nixos help vm-test",
                  "example": {
                    "options": {
                      "offline": true,
                    },
                  },
                },
                "technologies": [
                  "nix",
                ],
              },
              "options": {
                "checks": [
                  "module-web",
                ],
                "flakeRef": ".",
              },
              "outputs": [
                "{workspaceRoot}/artifacts/tests/nix-modules-services-web",
              ],
            },
            "vm-test-interactive": {
              "cache": false,
              "continuous": false,
              "executor": "@rave/nx-nixos:vm-test",
              "metadata": {
                "description": "Run the NixOS test driver of infra/nixos/modules/services/web/test.nix interactively (checks.<system>.<test>.driverInteractive): a Python prompt with start_all() and machine.shell_interact(); never cached.",
                "help": {
                  "command": "npx nx-nixos help vm-test",
                  "example": {
                    "options": {
                      "test": "profile-development",
                    },
                  },
                },
                "technologies": [
                  "nix",
                  "qemu",
                ],
              },
              "options": {
                "checks": [
                  "module-web",
                ],
                "flakeRef": ".",
                "interactive": true,
              },
              "parallelism": false,
            },
          },
        },
      },
    },
  ],
  [
    "infra/nixos/modules/services/db/default.nix",
    {
      "projects": {
        "infra/nixos/modules/services/db": {
          "metadata": {
            "description": "Nix modules in infra/nixos/modules/services/db",
            "technologies": [
              "nix",
            ],
          },
          "name": "nix-modules-services-db",
          "root": "infra/nixos/modules/services/db",
          "tags": [
            "type:nix-module",
          ],
        },
      },
    },
  ],
  [
    "infra/nixos/tests/module-node.nix",
    {
      "projects": {
        "infra/nixos/tests": {
          "metadata": {
            "description": "Nix modules in infra/nixos/tests",
            "technologies": [
              "nix",
            ],
          },
          "name": "nix-tests",
          "root": "infra/nixos/tests",
          "tags": [
            "type:nix-module",
          ],
        },
      },
    },
  ],
  [
    "profiles/dev/profile.json",
    {
      "projects": {
        "profiles/dev": {
          "implicitDependencies": [
            "nix-modules-services-web",
          ],
          "metadata": {
            "description": "Fixture profile dev",
            "targetGroups": {
              "Checks": [
                "hygiene",
              ],
              "NixOS": [
                "build-image",
                "vm-test",
                "vm-test-interactive",
                "build-vm",
              ],
              "QEMU": [
                "launch",
                "start",
                "launch-vm",
                "start-vm",
                "stop",
                "status",
                "ssh",
                "secrets",
              ],
            },
            "technologies": [
              "nix",
              "qemu",
            ],
          },
          "name": "dev",
          "projectType": "application",
          "root": "profiles/dev",
          "tags": [
            "type:profile",
          ],
          "targets": {
            "build-image": {
              "cache": true,
              "continuous": false,
              "executor": "@rave/nx-nixos:build-image",
              "inputs": [
                "{projectRoot}/**/*",
                "{workspaceRoot}/flake.nix",
                "{workspaceRoot}/flake.lock",
                "{workspaceRoot}/infra/nixos/configs/base.nix",
                "{workspaceRoot}/infra/nixos/lib/checks.nix",
                "{workspaceRoot}/infra/nixos/modules/services/web/default.nix",
                "{workspaceRoot}/profiles/dev/profile.nix",
                {
                  "runtime": "nix --version 2>/dev/null || echo nix-missing",
                },
              ],
              "metadata": {
                "description": "Build the dev image (packages.x86_64-linux.dev) with Nix; writes artifacts/images/dev/manifest.json.",
                "help": {
                  "command": "npx nx-nixos help build-image",
                  "example": {
                    "options": {
                      "offline": true,
                    },
                  },
                },
                "technologies": [
                  "nix",
                ],
              },
              "options": {
                "flakeRef": ".",
              },
              "outputs": [
                "{workspaceRoot}/artifacts/images/dev/manifest.json",
              ],
            },
            "build-vm": {
              "cache": true,
              "continuous": false,
              "executor": "@rave/nx-nixos:build-vm",
              "inputs": [
                "{projectRoot}/**/*",
                "{workspaceRoot}/flake.nix",
                "{workspaceRoot}/flake.lock",
                "{workspaceRoot}/infra/nixos/configs/base.nix",
                "{workspaceRoot}/infra/nixos/lib/checks.nix",
                "{workspaceRoot}/infra/nixos/modules/services/web/default.nix",
                "{workspaceRoot}/profiles/dev/profile.nix",
                {
                  "runtime": "nix --version 2>/dev/null || echo nix-missing",
                },
              ],
              "metadata": {
                "description": "Build the dev development VM (nixosConfigurations.dev.config.system.build.vm) with Nix, no disk image; writes artifacts/dev-vms/dev/manifest.json.",
                "help": {
                  "command": "npx nx-nixos help build-vm",
                  "example": {
                    "options": {
                      "offline": true,
                    },
                  },
                },
                "technologies": [
                  "nix",
                ],
              },
              "options": {
                "flakeRef": ".",
              },
              "outputs": [
                "{workspaceRoot}/artifacts/dev-vms/dev/manifest.json",
              ],
            },
            "hygiene": {
              "cache": true,
              "continuous": false,
              "executor": "@rave/nx-nixos:hygiene",
              "inputs": [
                "{projectRoot}/**/*",
                "{workspaceRoot}/flake.nix",
                "{workspaceRoot}/infra/nixos/configs/base.nix",
                "{workspaceRoot}/infra/nixos/lib/checks.nix",
                "{workspaceRoot}/infra/nixos/modules/services/web/default.nix",
                "{workspaceRoot}/profiles/dev/profile.nix",
                "{workspaceRoot}/.gitattributes",
                "{workspaceRoot}/**/.gitattributes",
                "{workspaceRoot}/.sops.yaml",
                {
                  "runtime": "git ls-files --stage -- ':(glob)profiles/dev/**' ':(glob)flake.nix' ':(glob)infra/nixos/configs/base.nix' ':(glob)infra/nixos/lib/checks.nix' ':(glob)infra/nixos/modules/services/web/default.nix' ':(glob)profiles/dev/profile.nix' 2>/dev/null || echo not-a-git-tree",
                },
              ],
              "metadata": {
                "description": "Check the files the dev profile reads for plaintext secrets, stray images and stale references.",
                "help": {
                  "command": "npx nx-nixos hygiene --help",
                  "example": {
                    "options": {
                      "format": "sarif",
                    },
                  },
                },
                "technologies": [
                  "nix",
                ],
              },
              "options": {
                "profilePaths": [
                  "flake.nix",
                  "infra/nixos/configs/base.nix",
                  "infra/nixos/lib/checks.nix",
                  "infra/nixos/modules/services/web/default.nix",
                  "profiles/dev/profile.nix",
                ],
                "scope": "profile",
              },
            },
            "launch": {
              "continuous": true,
              "executor": "@rave/nx-nixos:launch",
              "metadata": {
                "description": "Run the dev image under QEMU with its ports forwarded on 127.0.0.1 until Ctrl-C, which shuts it down cleanly.",
                "help": {
                  "command": "npx nx-nixos help launch",
                  "example": {
                    "options": {
                      "fresh": true,
                    },
                  },
                },
                "technologies": [
                  "qemu",
                ],
              },
              "options": {
                "flakeRef": ".",
              },
            },
            "launch-vm": {
              "continuous": true,
              "dependsOn": [
                "build-vm",
              ],
              "executor": "@rave/nx-nixos:launch",
              "metadata": {
                "description": "Run the dev development VM (the host's /nix/store shared, no disk image) with its ports forwarded on 127.0.0.1 until Ctrl-C, which shuts it down cleanly.",
                "help": {
                  "command": "npx nx-nixos help launch",
                  "example": {
                    "options": {
                      "fresh": true,
                    },
                  },
                },
                "technologies": [
                  "qemu",
                ],
              },
              "options": {
                "devVm": true,
                "flakeRef": ".",
              },
            },
            "secrets": {
              "cache": false,
              "continuous": false,
              "executor": "@rave/nx-nixos:secrets",
              "metadata": {
                "description": "Install secrets into the running dev VM over SSH; only what uses a changed secret restarts.",
                "help": {
                  "command": "npx nx-nixos help secrets",
                  "example": {
                    "options": {
                      "secret": [
                        "sops-age-key=keys.txt",
                      ],
                    },
                  },
                },
                "technologies": [
                  "qemu",
                ],
              },
            },
            "ssh": {
              "cache": false,
              "continuous": false,
              "executor": "@rave/nx-nixos:ssh",
              "metadata": {
                "description": "Open a shell in the running dev VM over SSH with the instance's own key, or run the command after \`--\`.",
                "help": {
                  "command": "npx nx-nixos help ssh",
                  "example": {
                    "options": {
                      "print": true,
                    },
                  },
                },
                "technologies": [
                  "qemu",
                ],
              },
            },
            "start": {
              "cache": false,
              "continuous": false,
              "executor": "@rave/nx-nixos:launch",
              "metadata": {
                "description": "Start the dev VM in the background and return once it is ready (launch --detach); stop it with stop.",
                "help": {
                  "command": "npx nx-nixos help launch",
                  "example": {
                    "options": {
                      "instance": "review",
                    },
                  },
                },
                "technologies": [
                  "qemu",
                ],
              },
              "options": {
                "detach": true,
                "flakeRef": ".",
              },
            },
            "start-vm": {
              "cache": false,
              "continuous": false,
              "dependsOn": [
                "build-vm",
              ],
              "executor": "@rave/nx-nixos:launch",
              "metadata": {
                "description": "Start the dev development VM in the background and return once it is ready; stop it with stop.",
                "help": {
                  "command": "npx nx-nixos help launch",
                  "example": {
                    "options": {
                      "instance": "review",
                    },
                  },
                },
                "technologies": [
                  "qemu",
                ],
              },
              "options": {
                "detach": true,
                "devVm": true,
                "flakeRef": ".",
              },
            },
            "status": {
              "cache": false,
              "continuous": false,
              "executor": "@rave/nx-nixos:status",
              "metadata": {
                "description": "List dev VM instances: running, stopped or broken, with ports, URLs, uptime and accelerator.",
                "help": {
                  "command": "npx nx-nixos help status",
                  "example": {
                    "options": {
                      "clean": true,
                    },
                  },
                },
                "technologies": [
                  "qemu",
                ],
              },
            },
            "stop": {
              "cache": false,
              "continuous": false,
              "executor": "@rave/nx-nixos:stop",
              "metadata": {
                "description": "Shut down the detached dev VM gracefully (powerdown, then quit, then kill).",
                "help": {
                  "command": "npx nx-nixos help stop",
                  "example": {
                    "options": {},
                  },
                },
                "technologies": [
                  "qemu",
                ],
              },
            },
            "vm-test": {
              "cache": true,
              "continuous": false,
              "executor": "@rave/nx-nixos:vm-test",
              "inputs": [
                "{projectRoot}/**/*",
                "{workspaceRoot}/flake.nix",
                "{workspaceRoot}/flake.lock",
                "{workspaceRoot}/infra/nixos/configs/base.nix",
                "{workspaceRoot}/infra/nixos/lib/checks.nix",
                "{workspaceRoot}/infra/nixos/modules/services/web/default.nix",
                "{workspaceRoot}/profiles/dev/profile.nix",
                {
                  "runtime": "nix --version 2>/dev/null || echo nix-missing",
                },
              ],
              "metadata": {
                "description": "Run the NixOS VM tests of dev (checks.x86_64-linux.smoke); JUnit report in artifacts/tests/dev.",
                "help": {
                  "command": "npx nx-nixos help vm-test",
                  "example": {
                    "options": {
                      "offline": true,
                    },
                  },
                },
                "technologies": [
                  "nix",
                ],
              },
              "options": {
                "flakeRef": ".",
              },
              "outputs": [
                "{workspaceRoot}/artifacts/tests/dev",
              ],
            },
            "vm-test-interactive": {
              "cache": false,
              "continuous": false,
              "executor": "@rave/nx-nixos:vm-test",
              "metadata": {
                "description": "Run the NixOS test driver of dev interactively (checks.<system>.<test>.driverInteractive): a Python prompt with start_all() and machine.shell_interact(); never cached.",
                "help": {
                  "command": "npx nx-nixos help vm-test",
                  "example": {
                    "options": {
                      "test": "profile-development",
                    },
                  },
                },
                "technologies": [
                  "nix",
                  "qemu",
                ],
              },
              "options": {
                "flakeRef": ".",
                "interactive": true,
              },
              "parallelism": false,
            },
          },
        },
      },
    },
  ],
]
`);
  });
});
