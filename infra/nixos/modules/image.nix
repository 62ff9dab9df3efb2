# The profile's disk image through nixpkgs' image builder (system.build.images.qemu, NixOS 25.05+).
# File name, format and size come from profile.json, so the manifest the plugin writes and the file
# the builder produces always agree: image.file "nixos.qcow2" gives image.baseName "nixos".
{ config, lib, ... }:
let
  profile = config.rave.profile;
  image = profile.image;
  suffix = ".${image.format or "qcow2"}";
in
{
  config = {
    assertions = [
      {
        assertion = (image.kind or "disk") == "disk";
        message = "profiles/${profile.name}/profile.json: image.kind must be \"disk\" for the qemu image builder.";
      }
      {
        assertion = lib.hasSuffix suffix image.file && !(lib.hasInfix "/" image.file);
        message = "profiles/${profile.name}/profile.json: image.file \"${image.file}\" must be a plain file name ending in \"${suffix}\" (the builder writes <baseName>${suffix}).";
      }
    ];

    # image.modules is attrsOf deferredModule: this module is merged with nixpkgs' own "qemu" variant
    # (nixos/modules/image/images.nix, which imports virtualisation/disk-image.nix).
    image.modules.qemu = {
      image.baseName = lib.removeSuffix suffix image.file;
      image.format = image.format or "qcow2";
      # Legacy BIOS boot: QEMU's default SeaBIOS firmware boots it without OVMF.
      image.efiSupport = false;
      # MiB (virtualisation/disk-size-option.nix).
      virtualisation.diskSize = profile.resources.diskGiB * 1024;
    };
  };
}
