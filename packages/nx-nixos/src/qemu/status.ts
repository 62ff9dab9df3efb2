import type { InstanceInfo, ServiceUrl } from './instance';
import type { AssignedPort } from './ports';

export function formatDuration(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s}s`;
  return `${s}s`;
}

export function formatPorts(ports: readonly AssignedPort[]): string {
  return ports.map((p) => `${p.name} 127.0.0.1:${p.host}->${p.guest}${p.host !== p.requested ? ` (${p.requested} was busy)` : ''}`).join(', ');
}

export function formatUrls(urls: readonly ServiceUrl[], indent = '  '): string[] {
  const width = Math.max(0, ...urls.map((u) => u.name.length));
  return urls.map((u) => `${indent}${u.name.padEnd(width)}  ${u.url}`);
}

/** Human-readable lines for one instance, as `status` prints them. */
export function describeInstance(info: InstanceInfo): string[] {
  const head = `${info.profile} "${info.instance}": ${info.status}`;
  const state = info.state;
  const notes = (info.notes ?? []).map((n) => `  note: ${n}`);
  if (info.status === 'running' && state) {
    return [
      `${head} (PID ${info.pid}, ${state.accel.toUpperCase()}, up ${formatDuration(info.uptimeSeconds ?? 0)}${state.readyAt ? '' : ', not ready yet'})`,
      ...(state.image.kind === 'dev-vm' ? [`  development VM: ${state.image.storePath}/${state.image.runScript ?? ''}, disk ${state.devDisk ?? ''}`] : []),
      `  ports: ${formatPorts(state.ports) || 'none'}`,
      ...formatUrls(state.urls, '  '),
      `  serial log: ${state.serialLog}`,
      ...notes,
    ];
  }
  if (info.status === 'running') {
    const flag = info.instance === 'default' ? '' : ` --instance ${info.instance}`;
    return [
      `${head} (PID ${info.pid}, up ${formatDuration(info.uptimeSeconds ?? 0)})`,
      ...notes,
      `  serial log: ${info.paths.serialLog}`,
      `  Stop it with: npx nx run ${info.profile}:stop${flag}`,
    ];
  }
  const problem = info.stateProblem ? [`  note: ${info.stateProblem}; the next launch writes a new one`] : [];
  if (info.status === 'broken')
    return [`${head}: ${info.reason}`, ...(state ? [`  serial log: ${state.serialLog}`] : []), ...problem, '  Remove its leftovers with --clean (disk and logs are kept).'];
  return [`${head}${state?.stoppedAt ? ` (since ${state.stoppedAt}${state.stoppedHow ? `, ${state.stoppedHow}` : ''})` : ''}`, ...problem];
}

/** The JSON form of `status --json`: no secrets (state.json holds only their file paths). */
export function instanceJson(info: InstanceInfo) {
  return {
    profile: info.profile,
    instance: info.instance,
    status: info.status,
    ...(info.reason ? { reason: info.reason } : {}),
    ...(info.notes?.length ? { notes: info.notes } : {}),
    ...(info.stateProblem ? { stateProblem: info.stateProblem } : {}),
    ...(info.pid !== undefined ? { pid: info.pid } : {}),
    ...(info.uptimeSeconds !== undefined ? { uptimeSeconds: info.uptimeSeconds } : {}),
    accel: info.state?.accel,
    ports: info.state?.ports ?? [],
    urls: info.status === 'running' ? (info.state?.urls ?? []) : [],
    serialLog: info.state?.serialLog ?? info.paths.serialLog,
    startedAt: info.state?.startedAt,
    stoppedAt: info.state?.stoppedAt,
  };
}
