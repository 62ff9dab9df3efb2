# Reads profiles/<name>/profile.json into { <name> = <metadata>; }.
# Pure: builtins only, no nixpkgs, so it evaluates offline (CI checks it with nix-instantiate).
{ profilesDir }:
let
  entries = builtins.readDir profilesDir;
  isProfile = name: entries.${name} == "directory" && builtins.pathExists (profilesDir + "/${name}/profile.json");
  load =
    name:
    let
      file = profilesDir + "/${name}/profile.json";
      meta = builtins.fromJSON (builtins.readFile file);
    in
    if (meta.name or null) != name then
      throw "${toString file}: field \"name\" is \"${toString (meta.name or "")}\" but the folder is \"${name}\"; make them equal."
    else
      meta;
in
builtins.listToAttrs (
  map (name: {
    inherit name;
    value = load name;
  }) (builtins.filter isProfile (builtins.attrNames entries))
)
