import type { ModuleMetadata, Type, InjectionToken, OptionalFactoryDependency } from '@nestjs/common';
import type { BufferOptions } from './engine/buffer-options.interface';

/** Buffer options without the name: what `forRoot` defaults and async factories give. */
export type BufferOptionsWithoutName = Partial<Omit<BufferOptions, 'name'>>;

/** `DataBufferModule.forRoot` options. */
export interface DataBufferRootOptions {
  /** Defaults for every buffer; a buffer's own options win. */
  defaults?: BufferOptionsWithoutName;
  /** Budget of the graceful flush of all buffers at shutdown, in ms (default 15000). */
  shutdownTimeout?: number;
}

/** A class that creates `forRoot` options (for `forRootAsync({ useClass })`). */
export interface DataBufferRootOptionsFactory {
  createDataBufferRootOptions(): DataBufferRootOptions | Promise<DataBufferRootOptions>;
}

/** A class that creates a buffer's options (for `forFeatureAsync({ useClass })`). */
export interface DataBufferOptionsFactory {
  createBufferOptions(): BufferOptionsWithoutName | Promise<BufferOptionsWithoutName>;
}

/** `DataBufferModule.forRootAsync` options. */
export interface DataBufferRootAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  inject?: (InjectionToken | OptionalFactoryDependency)[];
  useFactory?: (...args: any[]) => DataBufferRootOptions | Promise<DataBufferRootOptions>;
  useClass?: Type<DataBufferRootOptionsFactory>;
  useExisting?: Type<DataBufferRootOptionsFactory>;
}

/** `DataBufferModule.forFeatureAsync` options: the name is static, the rest comes from a factory. */
export interface DataBufferFeatureAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  /** The buffer's name (its injection token is derived from it). */
  name: string;
  inject?: (InjectionToken | OptionalFactoryDependency)[];
  useFactory?: (...args: any[]) => BufferOptionsWithoutName | Promise<BufferOptionsWithoutName>;
  useClass?: Type<DataBufferOptionsFactory>;
  useExisting?: Type<DataBufferOptionsFactory>;
}
