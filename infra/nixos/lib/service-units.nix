# The systemd units the VM tests wait for: those of the base configuration, and those of each
# profile.json feature, named as the upstream NixOS modules name them (each is recorded in
# tools/checks/upstream-options.ts). A new feature needs its entry here; the profile test stops
# with a message naming this file when an enabled feature has none.
# Pure data.
{
  base = [
    "postgresql.service"
    "nginx.service"
  ];
  features = {
    gitlab = [
      "gitaly.service"
      "gitlab-workhorse.service"
      "gitlab.service"
      "gitlab-sidekiq.service"
    ];
    mattermost = [ "mattermost.service" ];
    outline = [ "outline.service" ];
    n8n = [ "n8n.service" ];
    penpot = [
      "podman-penpot-backend.service"
      "podman-penpot-exporter.service"
      "podman-penpot-frontend.service"
    ];
    monitoring = [
      "prometheus.service"
      "prometheus-node-exporter.service"
      "grafana.service"
    ];
  };
}
