# The VM tests of the Nix module folders: every folder below `root` that has a test.nix gives the
# check module-<folder name>, e.g. { module-gitlab = <root>/modules/services/gitlab/test.nix; }.
# Two folders with the same name would give the same check: that stops the evaluation, naming both.
# Pure (builtins only), so CI evaluates it offline.
{
  root,
  # How messages name `root`.
  rootName ? "infra/nixos",
}:
let
  walk =
    dir: rel:
    let
      entries = builtins.readDir dir;
      here = if rel != "" && (entries."test.nix" or null) == "regular" then [ rel ] else [ ];
      folders = builtins.filter (n: entries.${n} == "directory") (builtins.attrNames entries);
    in
    here ++ builtins.concatMap (n: walk (dir + "/${n}") (if rel == "" then n else "${rel}/${n}")) folders;
  byName = builtins.groupBy (rel: "module-${baseNameOf rel}") (walk root "");
  testFile = rel: "${rootName}/${rel}/test.nix";
in
builtins.mapAttrs (
  name: rels:
  if builtins.length rels > 1 then
    throw "checks.${name}: ${builtins.concatStringsSep " and " (map testFile rels)} would both be this check (module-<folder name>); rename one of the folders."
  else
    root + "/${builtins.head rels}/test.nix"
) byName
