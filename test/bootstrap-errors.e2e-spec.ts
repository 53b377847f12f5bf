import { Inject, Injectable, Module, ModuleMetadata, Scope } from '@nestjs/common';
import { REQUEST } from '@nestjs/core';
import {
  BufferHandler,
  BufferOptions,
  DataBufferError,
  DataBufferModule,
  DataBufferRootOptions,
  InvalidBufferOptionsError,
  OnFlush,
  OnFlushError,
} from 'nestjs-data-buffer';
import { useBufferTestApp } from './support/buffer-test.utils';

@BufferHandler('events')
class EventsHandler {
  @OnFlush()
  save() {}
}

@BufferHandler('events')
class SecondEventsHandler {
  @OnFlush()
  persist() {}
}

@BufferHandler('events')
class TwoFlushMethodsHandler {
  @OnFlush()
  save() {}

  @OnFlush()
  saveAgain() {}
}

@BufferHandler('events')
class TwoErrorMethodsHandler {
  @OnFlush()
  save() {}

  @OnFlushError()
  deadLetter() {}

  @OnFlushError()
  alsoDeadLetter() {}
}

@BufferHandler('ghosts')
class GhostsHandler {
  @OnFlush()
  save() {}
}

@BufferHandler('events')
class HandlerWithoutOnFlush {
  @OnFlushError()
  deadLetter() {}
}

@Injectable({ scope: Scope.REQUEST })
@BufferHandler('events')
class RequestScopedHandler {
  @OnFlush()
  save() {}
}

@Injectable({ scope: Scope.TRANSIENT })
@BufferHandler('events')
class TransientHandler {
  @OnFlush()
  save() {}
}

@Injectable()
class RequestContext {
  constructor(@Inject(REQUEST) readonly request: unknown) {}
}

/** Singleton by declaration, request-scoped by its dependency. */
@Injectable()
@BufferHandler('events')
class HandlerDependingOnRequest {
  constructor(readonly context: RequestContext) {}

  @OnFlush()
  save() {}
}

describe('bootstrap failures', () => {
  // Nest's own output goes to the captured logs; bootstrap failures are asserted through the thrown errors.
  const { start: boot } = useBufferTestApp();

  /** The bootstrap error, asserted to be a DataBufferError naming the buffer. */
  async function bootError(metadata: ModuleMetadata, buffer: string): Promise<DataBufferError> {
    const booting = boot(metadata);
    await expect(booting).rejects.toThrow(DataBufferError);
    const error = (await booting.catch((e: unknown) => e)) as DataBufferError;
    expect(error.buffer).toBe(buffer);
    expect(error.message).toContain(buffer);
    return error;
  }

  it('boots with a valid setup (so the failures below come from what each one breaks)', async () => {
    await expect(boot({ imports: [DataBufferModule.forFeature({ name: 'events' })], providers: [EventsHandler] })).resolves.toBeDefined();
  });

  describe('handlers', () => {
    it('fails when a registered buffer has no @OnFlush handler', async () => {
      const error = await bootError({ imports: [DataBufferModule.forFeature([{ name: 'events' }, { name: 'orphans' }])], providers: [EventsHandler] }, 'orphans');
      expect(error.message).toMatch(/@OnFlush|handler/);
    });

    it('fails when two classes serve one buffer with @OnFlush, naming both', async () => {
      const error = await bootError(
        { imports: [DataBufferModule.forFeature({ name: 'events' })], providers: [EventsHandler, SecondEventsHandler] },
        'events',
      );
      expect(error.message).toContain('EventsHandler');
      expect(error.message).toContain('SecondEventsHandler');
    });

    it('fails when one class has two @OnFlush methods for its buffer', async () => {
      const error = await bootError({ imports: [DataBufferModule.forFeature({ name: 'events' })], providers: [TwoFlushMethodsHandler] }, 'events');
      expect(error.message).toContain('save');
      expect(error.message).toContain('saveAgain');
    });

    it('fails when a buffer has two @OnFlushError methods', async () => {
      const error = await bootError({ imports: [DataBufferModule.forFeature({ name: 'events' })], providers: [TwoErrorMethodsHandler] }, 'events');
      expect(error.message).toContain('@OnFlushError');
    });

    it('fails when a @BufferHandler names a buffer that is not registered', async () => {
      const error = await bootError(
        { imports: [DataBufferModule.forFeature({ name: 'events' })], providers: [EventsHandler, GhostsHandler] },
        'ghosts',
      );
      expect(error.message).toContain('GhostsHandler');
      expect(error.message).toMatch(/not registered|forFeature/);
    });

    it('fails when a @BufferHandler class has no @OnFlush method', async () => {
      const error = await bootError(
        { imports: [DataBufferModule.forFeature({ name: 'events' })], providers: [HandlerWithoutOnFlush] },
        'events',
      );
      expect(error.message).toContain('HandlerWithoutOnFlush');
      expect(error.message).toContain('@OnFlush');
    });

    it.each([
      ['request-scoped', RequestScopedHandler],
      ['transient', TransientHandler],
      ['depending on a request-scoped provider', HandlerDependingOnRequest],
    ])('fails when the handler is %s', async (_kind, handler) => {
      const error = await bootError(
        { imports: [DataBufferModule.forFeature({ name: 'events' })], providers: [RequestContext, handler] },
        'events',
      );
      expect(error.message).toContain(handler.name);
      expect(error.message).toMatch(/scoped|transient|singleton/i);
    });
  });

  describe('invalid buffer options', () => {
    /** Boots with `options` and expects an InvalidBufferOptionsError naming the buffer, the option and the value. */
    async function expectInvalid(metadata: ModuleMetadata, ...mentions: string[]) {
      const booting = boot(metadata);
      await expect(booting).rejects.toThrow(InvalidBufferOptionsError);
      const error = (await booting.catch((e: unknown) => e)) as InvalidBufferOptionsError;
      for (const text of mentions) expect(error.message).toContain(text);
      return error;
    }

    const feature = (options: Record<string, unknown>) => ({
      imports: [DataBufferModule.forFeature({ name: 'events', ...options } as BufferOptions)],
      providers: [EventsHandler],
    });

    it('rejects a missing name', async () => {
      const error = await expectInvalid({ imports: [DataBufferModule.forFeature({ maxSize: 10 } as unknown as BufferOptions)] }, 'name');
      expect(error.option).toBe('name');
    });

    it.each([[''], ['   ']])('rejects the empty name %j', async (name) => {
      const error = await expectInvalid({ imports: [DataBufferModule.forFeature({ name })] }, 'name');
      expect(error.option).toBe('name');
    });

    it('rejects a name that is not a string', async () => {
      await expectInvalid({ imports: [DataBufferModule.forFeature({ name: 42 } as unknown as BufferOptions)] }, 'name', '42');
    });

    it('rejects a name registered twice in two forFeature calls', async () => {
      @Module({ imports: [DataBufferModule.forFeature({ name: 'events', maxSize: 10 })] })
      class FirstModule {}
      @Module({ imports: [DataBufferModule.forFeature({ name: 'events', maxSize: 20 })] })
      class SecondModule {}

      const error = await expectInvalid({ imports: [FirstModule, SecondModule], providers: [EventsHandler] }, 'events', 'name');
      expect(error.buffer).toBe('events');
    });

    it('rejects a name registered twice with identical options (two registrations are not merged)', async () => {
      @Module({ imports: [DataBufferModule.forFeature({ name: 'events' })] })
      class FirstModule {}
      @Module({ imports: [DataBufferModule.forFeature({ name: 'events' })] })
      class SecondModule {}

      await expectInvalid({ imports: [FirstModule, SecondModule], providers: [EventsHandler] }, 'events', 'name');
    });

    it('rejects a name given twice in one forFeature array', async () => {
      const error = await expectInvalid(
        { imports: [DataBufferModule.forFeature([{ name: 'a' }, { name: 'b' }, { name: 'a', maxSize: 5 }])] },
        '"a"',
      );
      expect(error.buffer).toBe('a');
      expect(error.option).toBe('name');
    });

    it('says in one plain sentence which buffer is registered twice', async () => {
      @Module({ imports: [DataBufferModule.forFeature({ name: 'events' })] })
      class FirstModule {}
      @Module({ imports: [DataBufferModule.forFeature({ name: 'events' })] })
      class SecondModule {}

      const error = await expectInvalid({ imports: [FirstModule, SecondModule], providers: [EventsHandler] });
      expect(error.message).toBe(
        'Buffer "events" is registered twice: every name given to DataBufferModule.forFeature() or forFeatureAsync() must be unique',
      );
    });

    it('rejects a name registered by forFeature and forFeatureAsync', async () => {
      await expectInvalid(
        {
          imports: [DataBufferModule.forFeature({ name: 'events' }), DataBufferModule.forFeatureAsync({ name: 'events', useFactory: () => ({}) })],
          providers: [EventsHandler],
        },
        'events',
        'name',
      );
    });

    it.each<[string, Record<string, unknown>, string]>([
      ['a non-integer maxSize', { maxSize: 1.5 }, '1.5'],
      ['a non-integer interval', { interval: 100.25 }, '100.25'],
      ['a string number', { maxSize: '10' }, '10'],
      ['a string number for interval', { interval: '5000' }, '5000'],
      ['NaN', { retries: NaN }, 'NaN'],
      ['Infinity', { capacity: Infinity }, 'Infinity'],
      ['partitions 0', { partitions: 0 }, '0'],
      ['a negative retries', { retries: -1 }, '-1'],
      ['interval 0', { interval: 0 }, '0'],
      ['maxSize 0', { maxSize: 0 }, '0'],
      ['capacity 0', { capacity: 0 }, '0'],
      ['a negative jitter', { jitter: -5 }, '-5'],
      ['a negative retryDelay', { retryDelay: -100 }, '-100'],
      ['flushTimeout 0', { flushTimeout: 0 }, '0'],
      ['a negative waitTimeout', { waitTimeout: -1 }, '-1'],
      ['a negative maxRetryDelay', { maxRetryDelay: -1 }, '-1'],
      ['a negative maxSizeJitter', { maxSizeJitter: -2 }, '-2'],
      ['an interval no timer can hold', { interval: 2 ** 31 }, String(2 ** 31)],
      ['an unknown overflow', { overflow: 'drop-all' }, 'drop-all'],
      ['an unknown retryBackoff', { retryBackoff: 'linear' }, 'linear'],
      ['a boolean', { partitions: true }, 'true'],
    ])('rejects %s, naming the buffer, the option and the value', async (_case, options, shownValue) => {
      const [option] = Object.keys(options);
      const error = await expectInvalid(feature(options), '"events"', option, shownValue);
      expect(error.buffer).toBe('events');
      expect(error.option).toBe(option);
      expect(error.value).toBe(options[option]);
    });

    it('rejects invalid options returned by a forFeatureAsync factory', async () => {
      await expectInvalid(
        { imports: [DataBufferModule.forFeatureAsync({ name: 'metrics', useFactory: async () => ({ maxSize: -3 }) })] },
        'metrics',
        'maxSize',
        '-3',
      );
    });

    it('rejects a string number returned by a forFeatureAsync useClass factory', async () => {
      @Injectable()
      class FromEnv {
        createBufferOptions() {
          return { interval: '250' as unknown as number };
        }
      }
      await expectInvalid({ imports: [DataBufferModule.forFeatureAsync({ name: 'metrics', useClass: FromEnv })] }, 'metrics', 'interval', '250');
    });
  });

  describe('invalid forRoot options', () => {
    const withRoot = (root: Record<string, unknown>) => ({
      imports: [DataBufferModule.forRoot(root as DataBufferRootOptions), DataBufferModule.forFeature({ name: 'events' })],
      providers: [EventsHandler],
    });

    it.each<[string, Record<string, unknown>, string, string]>([
      ['a negative shutdownTimeout', { shutdownTimeout: -1 }, 'shutdownTimeout', '-1'],
      ['a string shutdownTimeout', { shutdownTimeout: '5000' }, 'shutdownTimeout', '5000'],
      ['a NaN shutdownTimeout', { shutdownTimeout: NaN }, 'shutdownTimeout', 'NaN'],
      ['a non-integer shutdownTimeout', { shutdownTimeout: 1.5 }, 'shutdownTimeout', '1.5'],
      ['a default out of range', { defaults: { maxSize: 0 } }, 'maxSize', '0'],
      ['a string default', { defaults: { retries: '3' } }, 'retries', '3'],
      ['an unknown default overflow', { defaults: { overflow: 'spill' } }, 'overflow', 'spill'],
      ['an unknown default retryBackoff', { defaults: { retryBackoff: 'random' } }, 'retryBackoff', 'random'],
    ])('rejects %s with InvalidBufferOptionsError', async (_case, root, option, shownValue) => {
      const booting = boot(withRoot(root));
      await expect(booting).rejects.toThrow(InvalidBufferOptionsError);
      await expect(booting).rejects.toThrow(option);
      await expect(booting).rejects.toThrow(shownValue);
    });

    it('rejects invalid options from forRootAsync', async () => {
      const booting = boot({
        imports: [
          DataBufferModule.forRootAsync({ useFactory: () => ({ shutdownTimeout: -10 }) }),
          DataBufferModule.forFeature({ name: 'events' }),
        ],
        providers: [EventsHandler],
      });
      await expect(booting).rejects.toThrow(InvalidBufferOptionsError);
      await expect(booting).rejects.toThrow('shutdownTimeout');
    });

    it.each<[string, Record<string, unknown>, string]>([
      ['shutdownTimeout', { shutdownTimeout: -1 }, 'Invalid option "shutdownTimeout" for DataBufferModule.forRoot: expected an integer from 0 to 2147483647, got -1 (number)'],
      ['a default', { defaults: { maxSize: 0 } }, 'Invalid option "defaults.maxSize" for DataBufferModule.forRoot: expected an integer ≥ 1, got 0 (number)'],
      ['a name in the defaults', { defaults: { name: 'x' } }, 'Invalid option "defaults.name" for DataBufferModule.forRoot: expected no name: defaults apply to every buffer, got "x" (string)'],
      ['an unknown option', { shutdown: 5 }, 'Invalid option "shutdown" for DataBufferModule.forRoot: expected a known option (defaults, shutdownTimeout), got 5 (number)'],
    ])('names DataBufferModule.forRoot, not a buffer, in the error for %s', async (_case, root, message) => {
      const error = (await boot(withRoot(root)).catch((e: unknown) => e)) as InvalidBufferOptionsError;
      expect(error).toBeInstanceOf(InvalidBufferOptionsError);
      expect(error.message).toBe(message);
    });

    it('accepts shutdownTimeout 0 and valid defaults', async () => {
      await expect(boot(withRoot({ shutdownTimeout: 0, defaults: { retries: 0, overflow: 'drop-oldest' } }))).resolves.toBeDefined();
    });
  });
});
