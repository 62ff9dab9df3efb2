# For services that cannot run under a URL path prefix (GitLab's precompiled assets, Mattermost's
# read-only client files in the Nix store, Outline, Penpot): the service gets its own virtual host
# <name>.<services.rave.hostName> on the shared HTTPS port and certificate, and its profile.json
# path on the main host redirects there, so the URLs that launch prints and the dashboard links
# keep working. Browsers and curl resolve *.localhost to the loopback address.
{ rave }:
rec {
  # "https://<host>[:<port>]" with the scheme and port of services.rave.publicBaseUrl.
  originOf =
    host:
    let
      m = builtins.match "(https?)://[^/:]+(:[0-9]+)?(/.*)?" rave.publicBaseUrl;
    in
    if m == null then
      throw "services.rave.publicBaseUrl \"${rave.publicBaseUrl}\" is not an http(s) URL: set it to e.g. \"https://rave.example.org:8443\"."
    else
      "${builtins.elemAt m 0}://${host}${if builtins.elemAt m 1 == null then "" else builtins.elemAt m 1}";

  # NixOS configuration for the virtual host `name` serving `hostName`, with `locations` as in
  # services.nginx.virtualHosts.<name>.locations, and a redirect from `path` on the main host to `url`.
  mkServiceHost =
    {
      name,
      hostName,
      path,
      url,
      locations,
    }:
    {
      services.rave.tls.extraHostNames = [ hostName ];
      services.nginx.virtualHosts.${name} = {
        serverName = hostName;
        forceSSL = true;
        sslCertificate = rave.tls.certificateFile;
        sslCertificateKey = rave.tls.keyFile;
        inherit locations;
      };
      services.nginx.virtualHosts.rave.locations.${path}.return = "302 ${url}";
    };
}
