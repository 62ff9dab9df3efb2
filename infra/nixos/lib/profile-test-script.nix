# The test script of a profile's VM test (checks.<system>.profile-<name>), generated from its
# profile.json alone: wait for the units of the base configuration and of every enabled feature,
# probe every enabled entry of "services" on the guest port of its "port" (https and http through
# nginx, following the redirect of a service on its own host name; ssh by its banner), and check
# that the welcome dashboard lists exactly those services. Adding a service to profile.json adds
# its probe; probes wait up to readiness.timeoutSeconds.
# Pure (builtins only): tools/checks/profile-test-script.spec.ts evaluates it offline.
{
  profile,
  units ? import ./service-units.nix,
}:
let
  file = "profiles/${profile.name}/profile.json";
  services = import ./services.nix profile;
  features = profile.features or { };
  enabledFeatures = builtins.filter (f: features.${f} == true) (builtins.attrNames features);
  unitsOf =
    feature:
    units.features.${feature}
      or (throw "${file}: feature \"${feature}\" is enabled, but infra/nixos/lib/service-units.nix names no units for it; add them there.");
  portNamed =
    name: what:
    let
      matching = builtins.filter (p: p.name == name) (profile.ports or [ ]);
    in
    if matching == [ ] then throw "${file}: ${what} names port \"${name}\", which \"ports\" does not define." else builtins.head matching;
  # A JSON string or list of strings is a Python literal too.
  py = builtins.toJSON;
  probe =
    s:
    let
      port = toString (portNamed s.port "service \"${s.name}\"").guest;
    in
    if s.scheme == "https" || s.scheme == "http" then
      "probe(${py s.name}, ${py "${s.scheme}://localhost:${port}${s.path}"})"
    else if s.scheme == "ssh" then
      "ssh_banner(${py s.name}, ${port})"
    else
      throw "${file}: service \"${s.name}\" has scheme \"${s.scheme}\", for which the VM test has no probe (https, http and ssh have one).";
  # base.nix serves the dashboard at / of the main host on 443 when the profile has no "https" port.
  httpsGuestPort = toString (
    (builtins.head (builtins.filter (p: p.name == "https") (profile.ports or [ ]) ++ [ { guest = 443; } ])).guest
  );
  dashboard = "https://localhost:${httpsGuestPort}/";
  timeout = toString (profile.readiness.timeoutSeconds or 600);
  waits = map (u: "    machine.wait_for_unit(${py u}, timeout=TIMEOUT)") (
    units.base ++ builtins.concatLists (map unitsOf enabledFeatures)
  );
in
builtins.concatStringsSep "\n" (
  [
    "# VM test of profile ${py profile.name}, generated from ${file} by infra/nixos/lib/profile-test-script.nix."
    "import html"
    "import re"
    "import shlex"
    ""
    "TIMEOUT = ${timeout}"
    ""
    ""
    "def probe(name: str, url: str) -> None:"
    "    with subtest(f\"{name} answers at {url} with 2xx or 3xx\"):"
    "        machine.wait_until_succeeds("
    "            \"curl --silent --insecure --location --max-redirs 5 --output /dev/null --write-out '%{http_code}' \""
    "            + shlex.quote(url)"
    "            + \" | grep -Eqx '[23][0-9][0-9]'\","
    "            timeout=TIMEOUT,"
    "        )"
    ""
    ""
    "def ssh_banner(name: str, port: int) -> None:"
    "    with subtest(f\"{name} answers with an SSH banner on port {port}\"):"
    "        machine.wait_until_succeeds("
    "            f\"timeout 10 bash -c 'exec 3<>/dev/tcp/127.0.0.1/{port} && head -c 4 <&3' | grep -qx SSH-\","
    "            timeout=TIMEOUT,"
    "        )"
    ""
    ""
    "with subtest(\"the units of the base configuration and of the enabled features start\"):"
  ]
  ++ waits
  ++ [ "" ]
  ++ map probe services
  # The dashboard's markup is base.nix's: <li><a href="PATH">NAME</a></li>, and <li>NAME: <code>ssh ...</code></li>.
  ++ [
    ""
    "with subtest(\"the welcome dashboard lists exactly the enabled services\"):"
    "    page = machine.succeed(\"curl --fail --silent --insecure ${dashboard}\")"
    "    items = page.split('<ul id=\"services\">', 1)[1].split(\"</ul>\", 1)[0]"
    "    listed = [html.unescape(a or b) for a, b in re.findall(r'<li><a href=\"[^\"]*\">(.*?)</a></li>|<li>(.*?): <code>', items)]"
    "    expected = ${py (map (s: s.name) services)}"
    "    assert listed == expected, f\"the dashboard lists {listed}, ${file} enables {expected}\""
    ""
  ]
)
