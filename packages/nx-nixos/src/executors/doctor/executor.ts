import type { ExecutorContext } from '@nx/devkit';
import { formatDoctor, runDoctor } from '../../host/doctor';
import { reportErrors } from '../shared/profile';

export interface DoctorOptions {
  warnFreeGiB?: number;
  errorFreeGiB?: number;
}

export default async function doctorExecutor(options: DoctorOptions, context: ExecutorContext) {
  return reportErrors('doctor', async () => {
    const GiB = 1024 ** 3;
    const checks = await runDoctor(context.root, {
      warnFreeBytes: (options.warnFreeGiB ?? 20) * GiB,
      errorFreeBytes: (options.errorFreeGiB ?? 2) * GiB,
    });
    process.stdout.write(formatDoctor(checks));
    const failed = checks.filter((c) => c.level === 'error');
    if (failed.length) console.error(`\n${failed.length} required part(s) missing: ${failed.map((c) => c.name).join(', ')}.`);
    return failed.length === 0;
  });
}
