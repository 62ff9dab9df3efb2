# The node of a service module's VM test (infra/nixos/modules/services/<svc>/test.nix): base.nix with
# profile metadata in which only `feature` is on, plus what every test node shares (node.nix:
# secrets from test fixtures). The test enables the module itself; an assertion checks it did.
{ feature }:
{ config, ... }:
{
  imports = [
    ../configs/base.nix
    ./node.nix
  ];

  rave.profile = {
    name = "module-${feature}";
    description = "VM test of services.rave.${feature}";
    image = {
      kind = "disk";
      format = "qcow2";
      file = "nixos.qcow2";
    };
    resources.diskGiB = 4;
    features.${feature} = true;
    # As in the profiles: the public URLs carry the launcher's port 8443, which nginx also serves on loopback.
    ports = [
      {
        name = "https";
        guest = 443;
        host = 8443;
      }
    ];
    services = [
      {
        name = "Welcome dashboard";
        port = "https";
        path = "/";
      }
    ];
  };

  assertions = [
    {
      assertion = config.services.rave.${feature}.enable;
      message = "module-node.nix { feature = \"${feature}\"; }: the test must set services.rave.${feature}.enable = true.";
    }
  ];
}
