# NixOS module of the demo profile. Which services run comes from profile.json "features", the same
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

  # The demo shows the GitLab-Mattermost integration; see docs/how-to/gitlab-mattermost-integration.md
  # for registering the OAuth application and enabling services.rave.mattermost.gitlabLogin.
  services.rave.gitlab.resources.pumaWorkers = 0;
}
