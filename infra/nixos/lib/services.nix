# The services a profile lists (profile.json "services") whose feature is enabled, with the same
# defaults as the plugin's schema (scheme "https", path "/"). The welcome dashboard is rendered from
# this list and the launcher prints its URLs from the same JSON, so the two cannot disagree.
# Pure: builtins only.
profile:
let
  features = profile.features or { };
  withDefaults =
    s:
    {
      scheme = "https";
      path = "/";
    }
    // s;
  enabled = s: !(s ? feature) || (features.${s.feature} or false) == true;
in
map withDefaults (builtins.filter enabled (profile.services or [ ]))
