import { DynamicModule, Inject, Module, Provider } from '@nestjs/common';
import { DataBufferModule } from '../data-buffer.module';
import { getBufferToken } from '../data-buffer.utils';
import { BufferHandler } from '../decorators';
import type { BufferOptions, DataBuffer } from '../engine';
import { BufferRecorder } from './buffer-recorder';

/** The injection token of the recorder of the buffer `name`. */
export function getBufferRecorderToken(name: string): string {
  return `data-buffer:recorder:${name}`;
}

/**
 * Buffers for the tests of code that writes to them, without a real sink: each buffer is
 * registered as `DataBufferModule.forFeature` would, with a `BufferRecorder` as its handler.
 */
@Module({})
export class DataBufferTestingModule {
  /** Registers the buffers, each with a recorder (`getBufferRecorderToken(name)`); exports both. */
  static forFeature(options: BufferOptions | BufferOptions[]): DynamicModule {
    const list = Array.isArray(options) ? options : [options];
    const feature = DataBufferModule.forFeature(list);
    const recorders: Provider[] = list.map((o) => ({ provide: getBufferRecorderToken(o?.name), useClass: recorderFor(o?.name) }));
    return {
      module: DataBufferTestingModule,
      imports: [feature],
      providers: recorders,
      exports: [feature, ...list.map((o) => getBufferRecorderToken(o?.name))],
    };
  }
}

/** A `@BufferHandler(name)` subclass of `BufferRecorder`, named after the buffer. */
function recorderFor(name: string) {
  @BufferHandler(name)
  class Recorder extends BufferRecorder {
    constructor(@Inject(getBufferToken(name)) buffer: DataBuffer<unknown>) {
      super(buffer);
    }
  }
  Object.defineProperty(Recorder, 'name', { value: `BufferRecorder(${name})` });
  return Recorder;
}
