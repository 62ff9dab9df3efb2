import { execFile } from 'node:child_process';

export type ToolVersion = { found: true; version: string } | { found: false; error: string };

/** `<program> --version`, first line; never throws. */
export function toolVersion(program: 'qemu-system-x86_64' | 'qemu-img'): Promise<ToolVersion> {
  return new Promise((resolve) => {
    execFile(program, ['--version'], { timeout: 10_000 }, (error, stdout) => {
      if (error) resolve({ found: false, error: (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found on PATH' : error.message });
      else resolve({ found: true, version: stdout.split('\n')[0].trim() });
    });
  });
}
