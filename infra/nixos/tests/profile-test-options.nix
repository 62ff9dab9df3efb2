# Options of a profile's VM test (profile.nix): the script generated from profile.json, and Python
# that the profile's own profiles/<name>/test.nix appends to it.
{ config, lib, ... }:
{
  options.profileTest = {
    script = lib.mkOption {
      type = lib.types.str;
      description = "The test script generated from profile.json (infra/nixos/lib/profile-test-script.nix).";
    };
    extraScript = lib.mkOption {
      type = lib.types.lines;
      default = "";
      description = "Python run after the generated script (set by profiles/<name>/test.nix).";
    };
  };

  config.testScript = config.profileTest.script + "\n" + config.profileTest.extraScript;
}
