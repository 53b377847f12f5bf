import { DynamicModule, FactoryProvider, Module, Provider, Type } from '@nestjs/common';
import { DataBufferCoreModule } from './data-buffer-core.module';
import { DATA_BUFFER_ROOT_OPTIONS } from './data-buffer.constants';
import { DataBufferRegistry } from './data-buffer.registry';
import { getBufferOptionsToken, getBufferToken } from './data-buffer.utils';
import {
  EXPECTED_ASYNC_SOURCE,
  EXPECTED_DEFAULTS_OBJECT,
  EXPECTED_NO_DEFAULT_NAME,
  EXPECTED_ROOT_OBJECT,
  EXPECTED_ROOT_OPTION,
  EXPECTED_SHUTDOWN_TIMEOUT,
  INVALID_ROOT_OPTION,
  ROOT_LABEL,
} from './data-buffer.messages';
import { InvalidBufferOptionsError, showValue } from './errors';
import { MAX_TIMER_DELAY, validateBufferOptions } from './engine/buffer-options';
import type { BufferOptions } from './engine/buffer-options.interface';
import type {
  DataBufferFeatureAsyncOptions,
  DataBufferOptionsFactory,
  DataBufferRootAsyncOptions,
  DataBufferRootOptions,
  DataBufferRootOptionsFactory,
} from './interfaces';

const ROOT_OPTION_NAMES = new Set(['defaults', 'shutdownTimeout']);

/** Registers buffers (`forFeature`) and sets module-wide defaults (`forRoot`). */
@Module({})
export class DataBufferModule {
  /** Optional: defaults for every buffer and the shutdown budget. Global. */
  static forRoot(options: DataBufferRootOptions = {}): DynamicModule {
    return DataBufferModule.root([], [{ provide: DATA_BUFFER_ROOT_OPTIONS, useFactory: () => validateRootOptions(options) }]);
  }

  /** `forRoot` with options from a factory, a class or an existing provider. */
  static forRootAsync(options: DataBufferRootAsyncOptions): DynamicModule {
    const providers = asyncOptionsProviders(
      DATA_BUFFER_ROOT_OPTIONS,
      options,
      (factory: DataBufferRootOptionsFactory) => factory.createDataBufferRootOptions(),
      validateRootOptions,
      () => rootError('forRootAsync', options, EXPECTED_ASYNC_SOURCE),
    );
    return DataBufferModule.root(options.imports ?? [], providers);
  }

  /** Registers one buffer or several; inject each with `@InjectBuffer(name)`. */
  static forFeature(options: BufferOptions | BufferOptions[]): DynamicModule {
    const list = Array.isArray(options) ? options : [options];
    const providers: Provider[] = [];
    const names = new Set<string>();
    list.forEach((bufferOptions, index) => {
      const name = bufferOptions?.name;
      // The options live in the module's metadata (useValue), so two registrations of one
      // name are two modules and the registry reports the duplicate. A name repeated in this
      // array gets tokens of its own so that it reaches the registry too, instead of one
      // provider silently replacing the other.
      const suffix = names.has(name) ? `#${index}` : '';
      names.add(name);
      const optionsToken = getBufferOptionsToken(name) + suffix;
      providers.push({ provide: optionsToken, useValue: bufferOptions }, bufferProvider(getBufferToken(name) + suffix, optionsToken));
    });
    return {
      module: DataBufferModule,
      imports: [DataBufferCoreModule],
      providers,
      exports: [...names].map(getBufferToken),
    };
  }

  /** Registers one buffer whose options come from a factory, a class or an existing provider. */
  static forFeatureAsync(options: DataBufferFeatureAsyncOptions): DynamicModule {
    const name = options.name;
    const providers = asyncOptionsProviders(
      getBufferOptionsToken(name),
      options,
      (factory: DataBufferOptionsFactory) => factory.createBufferOptions(),
      (partial: Partial<BufferOptions> | undefined): BufferOptions => ({ ...(partial ?? {}), name }),
      () => new InvalidBufferOptionsError(String(name), 'forFeatureAsync', options, EXPECTED_ASYNC_SOURCE),
    );
    providers.push(bufferProvider(getBufferToken(name), getBufferOptionsToken(name)));
    return {
      module: DataBufferModule,
      imports: [DataBufferCoreModule, ...(options.imports ?? [])],
      providers,
      exports: [getBufferToken(name)],
    };
  }

  private static root(imports: DynamicModule['imports'], providers: Provider[]): DynamicModule {
    return {
      module: DataBufferModule,
      global: true,
      imports: [...(imports ?? []), DataBufferCoreModule],
      providers,
      exports: [DATA_BUFFER_ROOT_OPTIONS],
    };
  }
}

/**
 * The providers of options that come from `useFactory`, or from a `useClass`/`useExisting`
 * factory class through `create`; `finish` validates or completes what they give.
 */
function asyncOptionsProviders<Given, Options, Factory>(
  token: string,
  options: {
    inject?: FactoryProvider['inject'];
    useFactory?: (...args: any[]) => Given | Promise<Given>;
    useClass?: Type<Factory>;
    useExisting?: Type<Factory>;
  },
  create: (factory: Factory) => Given | Promise<Given>,
  finish: (given: Given) => Options,
  missing: () => Error,
): Provider[] {
  const { useFactory } = options;
  if (useFactory) {
    return [{ provide: token, useFactory: async (...args: unknown[]) => finish(await useFactory(...args)), inject: options.inject ?? [] }];
  }
  const factoryClass = options.useClass ?? options.useExisting;
  if (!factoryClass) throw missing();
  const providers: Provider[] = options.useClass ? [{ provide: options.useClass, useClass: options.useClass }] : [];
  providers.push({ provide: token, useFactory: async (factory: Factory) => finish(await create(factory)), inject: [factoryClass] });
  return providers;
}

/** The buffer under `token`, created by the registry from the options under `optionsToken` (where they are validated). */
function bufferProvider(token: string, optionsToken: string): Provider {
  return {
    provide: token,
    useFactory: (registry: DataBufferRegistry, options: BufferOptions) => registry.create(options),
    inject: [DataBufferRegistry, optionsToken],
  };
}

function rootError(option: string, value: unknown, expected: string): InvalidBufferOptionsError {
  return new InvalidBufferOptionsError(ROOT_LABEL, option, value, expected, INVALID_ROOT_OPTION(option, showValue(value), expected));
}

function validateRootOptions(options: DataBufferRootOptions | undefined): DataBufferRootOptions {
  const root = options ?? {};
  if (typeof root !== 'object') throw rootError('options', root, EXPECTED_ROOT_OBJECT);
  for (const key of Object.keys(root)) {
    if (!ROOT_OPTION_NAMES.has(key)) throw rootError(key, (root as Record<string, unknown>)[key], EXPECTED_ROOT_OPTION);
  }
  const { shutdownTimeout, defaults } = root;
  if (shutdownTimeout !== undefined && (typeof shutdownTimeout !== 'number' || !Number.isInteger(shutdownTimeout) || shutdownTimeout < 0 || shutdownTimeout > MAX_TIMER_DELAY)) {
    throw rootError('shutdownTimeout', shutdownTimeout, EXPECTED_SHUTDOWN_TIMEOUT(MAX_TIMER_DELAY));
  }
  if (defaults !== undefined) {
    if (defaults === null || typeof defaults !== 'object') throw rootError('defaults', defaults, EXPECTED_DEFAULTS_OBJECT);
    // The one place that refuses a name in the defaults.
    if ('name' in defaults) throw rootError('defaults.name', (defaults as Record<string, unknown>).name, EXPECTED_NO_DEFAULT_NAME);
    try {
      validateBufferOptions(ROOT_LABEL, defaults as Record<string, unknown>);
    } catch (error) {
      if (!(error instanceof InvalidBufferOptionsError)) throw error;
      throw rootError(`defaults.${error.option}`, error.value, error.expected);
    }
  }
  return root;
}
