import { enabledServices, type Profile } from '../profile/schema';
import type { ServiceUrl } from './instance';
import type { AssignedPort } from './ports';
import { httpStatusMatcher, type Probe } from './readiness';

/** What a profile's forwarded ports serve once they have host ports: the URLs of its enabled services. */
export function serviceUrls(profile: Profile, ports: readonly AssignedPort[]): ServiceUrl[] {
  return enabledServices(profile).map((s) => {
    const port = ports.find((p) => p.name === s.port)!;
    return { name: s.name, url: s.scheme === 'ssh' ? `ssh://127.0.0.1:${port.host}` : `${s.scheme}://127.0.0.1:${port.host}${s.path}` };
  });
}

/** The answer that shows the guest is ready (profile.readiness), on its host port; none when the profile sets none. */
export function readinessProbe(profile: Profile, ports: readonly AssignedPort[]): Probe | undefined {
  const r = profile.readiness;
  if (!r) return undefined;
  const port = ports.find((p) => p.name === r.port)!;
  const tls = enabledServices(profile).some((s) => s.port === r.port && s.scheme === 'https');
  return { kind: r.probe, port: port.host, path: r.path, tls: r.probe === 'http' && tls, accept: httpStatusMatcher(r.acceptStatus) };
}
