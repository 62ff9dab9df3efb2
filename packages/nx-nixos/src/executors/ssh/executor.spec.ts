import { guestCommand } from './executor';

describe('guestCommand', () => {
  it('is what follows the first --, word for word, else what follows the executor\'s own leading options', () => {
    expect(guestCommand(['--instance', 'b', '--', 'sh', '-c', 'exit 3'])).toEqual(['sh', '-c', 'exit 3']);
    expect(guestCommand(['sh', '-c', 'exit 3'])).toEqual(['sh', '-c', 'exit 3']);
    expect(guestCommand(['--instance', 'b', 'echo', 'hi'])).toEqual(['echo', 'hi']);
    expect(guestCommand(['--instance=b', '--print', 'ls', '--instance'])).toEqual(['ls', '--instance']);
    expect(guestCommand(['--print'])).toEqual([]);
    expect(guestCommand([])).toEqual([]);
    expect(guestCommand(undefined)).toEqual([]);
  });
});
