# NixOS module of the development profile. Which services run comes from profile.json "features", the same
# file the Nx plugin reads, so the image, the welcome dashboard and the launch URLs cannot disagree.
{ ... }:
let
  meta = builtins.fromJSON (builtins.readFile ./profile.json);
  on = feature: meta.features.${feature} or false;
in
{
  imports = [
    ../../infra/nixos/configs/base.nix
    ../../infra/nixos/configs/nixpkgs.nix
  ];

  rave.profile = meta;
  services.rave = {
    gitlab.enable = on "gitlab";
    mattermost.enable = on "mattermost";
    outline.enable = on "outline";
    n8n.enable = on "n8n";
    penpot.enable = on "penpot";
    monitoring.enable = on "monitoring";
  };

  # 8 GiB of guest memory: keep GitLab small.
  services.rave.gitlab.resources = {
    pumaWorkers = 0;
    sidekiqConcurrency = 5;
  };
}
