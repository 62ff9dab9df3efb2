import { guestCommand } from './executor';

describe('guestCommand', () => {
  it('is what follows --, word for word, flags included', () => {
    expect(guestCommand(['--instance', 'b', '--', 'sh', '-c', 'exit 3'])).toEqual(['sh', '-c', 'exit 3']);
    expect(guestCommand(['sh', '-c', 'exit 3'])).toEqual(['sh', '-c', 'exit 3']);
    expect(guestCommand([])).toEqual([]);
    expect(guestCommand(undefined)).toEqual([]);
  });
});
