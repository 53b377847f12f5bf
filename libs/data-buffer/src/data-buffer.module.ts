import { DynamicModule, FactoryProvider, Module, Provider, Type } from '@nestjs/common';
import { DataBufferCoreModule } from './data-buffer-core.module';
import { DATA_BUFFER_ROOT_OPTIONS } from './data-buffer.constants';
import { DataBufferRegistry } from './data-buffer.registry';
import { getBufferOptionsToken, getBufferToken } from './data-buffer.utils';
import { InvalidBufferOptionsError } from './errors';
import { MAX_TIMER_DELAY, validateBufferName, validateBufferOptions } from './engine/buffer-options';
import type { BufferOptions } from './engine/buffer-options.interface';
import type {
  DataBufferFeatureAsyncOptions,
  DataBufferOptionsFactory,
  DataBufferRootAsyncOptions,
  DataBufferRootOptions,
  DataBufferRootOptionsFactory,
} from './interfaces';

const ROOT_LABEL = 'DataBufferModule.forRoot';
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
      () => new InvalidBufferOptionsError(ROOT_LABEL, 'forRootAsync', options, 'useFactory, useClass or useExisting'),
    );
    return DataBufferModule.root(options.imports ?? [], providers);
  }

  /** Registers one buffer or several; inject each with `@InjectBuffer(name)`. */
  static forFeature(options: BufferOptions | BufferOptions[]): DynamicModule {
    const list = Array.isArray(options) ? options : [options];
    const providers: Provider[] = [];
    for (const bufferOptions of list) {
      const name = bufferOptions?.name;
      // The options live in the module's metadata (useValue), so two registrations of one
      // name are two modules and the registry reports the duplicate.
      providers.push({ provide: getBufferOptionsToken(name), useValue: bufferOptions }, bufferProvider(name));
    }
    return {
      module: DataBufferModule,
      imports: [DataBufferCoreModule],
      providers,
      exports: list.map((o) => getBufferToken(o?.name)),
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
      () => new InvalidBufferOptionsError(String(name), 'forFeatureAsync', options, 'useFactory, useClass or useExisting'),
    );
    providers.push(bufferProvider(name));
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

function bufferProvider(name: string): Provider {
  return {
    provide: getBufferToken(name),
    useFactory: (registry: DataBufferRegistry, options: BufferOptions) => {
      validateBufferName(options?.name, String(name));
      return registry.create(options);
    },
    inject: [DataBufferRegistry, getBufferOptionsToken(name)],
  };
}

function validateRootOptions(options: DataBufferRootOptions | undefined): DataBufferRootOptions {
  const root = options ?? {};
  if (typeof root !== 'object') throw new InvalidBufferOptionsError(ROOT_LABEL, 'options', root, 'an object');
  for (const key of Object.keys(root)) {
    if (!ROOT_OPTION_NAMES.has(key)) {
      throw new InvalidBufferOptionsError(ROOT_LABEL, key, (root as Record<string, unknown>)[key], 'a known option (defaults, shutdownTimeout)');
    }
  }
  const { shutdownTimeout, defaults } = root;
  if (shutdownTimeout !== undefined && (typeof shutdownTimeout !== 'number' || !Number.isInteger(shutdownTimeout) || shutdownTimeout < 0 || shutdownTimeout > MAX_TIMER_DELAY)) {
    throw new InvalidBufferOptionsError(ROOT_LABEL, 'shutdownTimeout', shutdownTimeout, `an integer from 0 to ${MAX_TIMER_DELAY}`);
  }
  if (defaults !== undefined) {
    if (defaults === null || typeof defaults !== 'object') throw new InvalidBufferOptionsError(ROOT_LABEL, 'defaults', defaults, 'an object of buffer options');
    if ('name' in defaults) throw new InvalidBufferOptionsError(ROOT_LABEL, 'defaults.name', (defaults as Record<string, unknown>).name, 'no name: defaults apply to every buffer');
    validateBufferOptions(`${ROOT_LABEL} defaults`, defaults as Record<string, unknown>);
  }
  return root;
}
