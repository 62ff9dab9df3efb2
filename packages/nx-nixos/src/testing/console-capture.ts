/**
 * Captures what code under test prints, from the next call on: writes to stdout and console.log go to `out`,
 * console.error to `err`. Call in beforeEach, with jest.restoreAllMocks() in afterEach; reset a field to ''
 * to look at what comes next only.
 */
export function captureConsole(): { out: string; err: string } {
  const printed = { out: '', err: '' };
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((printed.out += String(chunk)), true));
  jest.spyOn(console, 'error').mockImplementation((...args) => void (printed.err += `${args.join(' ')}\n`));
  jest.spyOn(console, 'log').mockImplementation((...args) => void (printed.out += `${args.join(' ')}\n`));
  return printed;
}
