import { Logger } from '@nestjs/common';
import { warnContradictoryOptions } from './data-buffer-options.checker';
import type { DataBuffer } from './engine';

/** A buffer as the checker sees it: a name and the options in force (commitDelay comes with the new engine). */
const bufferWith = (options: Record<string, unknown>) =>
  ({ name: 'orders', options: { maxSize: 1000, capacity: 100_000, interval: 5_000, ...options } }) as unknown as DataBuffer<unknown>;

describe('warnContradictoryOptions', () => {
  const warn = jest.fn();
  beforeEach(() => {
    warn.mockReset();
    Logger.overrideLogger({ log() {}, error() {}, warn, debug() {}, verbose() {} });
  });
  afterAll(() => Logger.overrideLogger(true));

  it('names the buffer, commitDelay and interval when commitDelay is above interval', () => {
    warnContradictoryOptions(bufferWith({ commitDelay: 6_000 }));
    expect(warn).toHaveBeenCalledWith(
      'Buffer "orders": commitDelay (6000) is above interval (5000): the interval always flushes a batch before its commitDelay',
      'DataBuffer',
    );
  });

  it('says nothing for a commitDelay within the interval, or none', () => {
    warnContradictoryOptions(bufferWith({ commitDelay: 5_000 }));
    warnContradictoryOptions(bufferWith({}));
    expect(warn).not.toHaveBeenCalled();
  });
});
