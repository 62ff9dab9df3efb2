# The flake's checks for one system: profile-<name> for every profile (the VM test generated from its
# profile.json), module-<name> for every Nix module folder with a test.nix (module-tests.nix), and
# minimal-test, the earlier name of the base configuration's smoke test, as the same derivation as
# module-configs. Pure: the test builders are arguments.
{
  profiles,
  moduleTests,
  profileTest,
  moduleTest,
}:
let
  profileChecks = builtins.listToAttrs (
    map (name: {
      name = "profile-${name}";
      value = profileTest name profiles.${name};
    }) (builtins.attrNames profiles)
  );
  moduleChecks = builtins.mapAttrs (_: moduleTest) moduleTests;
in
profileChecks
// moduleChecks
// (if moduleChecks ? module-configs then { minimal-test = moduleChecks.module-configs; } else { })
