# The profile's development VM: config.system.build.vm, what `nixos-rebuild build-vm` builds and the
# nx-nixos targets build-vm and launch-vm run. nixpkgs' virtualisation/build-vm.nix makes it from
# virtualisation.vmVariant (this configuration plus virtualisation/qemu-vm.nix): the system's kernel
# boots with the host's /nix/store shared over 9p, so a changed module rebuilds its own derivations
# and the run script, never a disk image. Memory, CPUs and the root disk's size come from
# profile.json, like the image's. The forwarded ports are not set here: the launcher passes the
# profile's ports at run time (QEMU_NET_OPTS, with busy host ports replaced), and the secrets the
# same way as to the image (systemd credentials over fw_cfg, in QEMU_OPTS).
{ config, ... }:
let
  resources = config.rave.profile.resources;
in
{
  virtualisation.vmVariant = {
    virtualisation = {
      # MiB.
      memorySize = resources.memoryMiB;
      cores = resources.cpus;
      # MiB: the size of the writable root disk the run script creates (NIX_DISK_IMAGE) when missing.
      diskSize = resources.diskGiB * 1024;
      # -nographic: the serial console is the primary one (the launcher sends it to the instance's log).
      graphics = false;
    };
    # The run script's root disk is one unpartitioned ext4 file system: there is no partition to grow.
    boot.growPartition = false;
  };
}
