{
  description = "RAVE: NixOS appliance profiles (production, development, demo) built into QEMU images";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-26.05";
    sops-nix = {
      url = "github:Mic92/sops-nix";
      inputs.nixpkgs.follows = "nixpkgs";
    };
  };

  outputs =
    {
      self,
      nixpkgs,
      sops-nix,
    }:
    let
      lib = nixpkgs.lib;
      # profiles/<name>/profile.json, the single source of truth shared with the Nx plugin.
      profiles = import ./infra/nixos/lib/profiles.nix { profilesDir = ./profiles; };
      systemOf = meta: meta.system or "x86_64-linux";

      mkSystem =
        name: meta:
        lib.nixosSystem {
          modules = [
            { nixpkgs.hostPlatform = systemOf meta; }
            sops-nix.nixosModules.sops
            (./profiles + "/${name}/profile.nix")
          ];
        };

      nixosConfigurations = lib.mapAttrs mkSystem profiles;

      # packages.<system>.<flake.attribute> and every alias: the qcow2 built by nixpkgs' image builder.
      imagePackages =
        system:
        lib.concatMapAttrs (
          name: meta:
          let
            image = nixosConfigurations.${name}.config.system.build.images.qemu;
          in
          lib.optionalAttrs (systemOf meta == system) (
            lib.genAttrs ([ meta.flake.attribute ] ++ (meta.flake.aliases or [ ])) (_: image)
          )
        ) profiles;

      systems = lib.unique (map systemOf (builtins.attrValues profiles));
    in
    {
      inherit nixosConfigurations;
      profileMetadata = profiles;

      packages = lib.genAttrs systems imagePackages;

      # profile-<name> for every profile, module-<folder> for every folder under infra/nixos with a
      # test.nix, minimal-test (= module-configs).
      checks = lib.genAttrs systems (
        system:
        let
          pkgs = nixpkgs.legacyPackages.${system};
          sopsModule = sops-nix.nixosModules.sops;
        in
        import ./infra/nixos/lib/checks.nix {
          profiles = lib.filterAttrs (_: meta: systemOf meta == system) profiles;
          moduleTests = import ./infra/nixos/lib/module-tests.nix { root = ./infra/nixos; };
          profileTest =
            name: profile: import ./infra/nixos/tests/profile.nix { inherit pkgs sopsModule name profile; };
          moduleTest = test: import test { inherit pkgs sopsModule; };
        }
      );
    };
}
