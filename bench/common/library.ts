/**
 * Loads the library under test from its source (libs/data-buffer/src), as a user of the
 * engine would use it without Nest. `BENCH_LIBRARY` may point at another build of it (for
 * example the compiled dist) relative to the repository root.
 */
import * as path from 'node:path';

import type { BufferOptions, DataBuffer, DataBufferHooks } from '../../libs/data-buffer/src';

/** The library's buffer, typed from its source so the bench breaks at compile time if the API drifts. */
export type BenchBuffer<T> = DataBuffer<T>;
type Ctor = typeof DataBuffer;

let loaded: Ctor | null | undefined;
let loadError = '';

function load(): Ctor | null {
  if (loaded !== undefined) return loaded;
  const root = path.resolve(__dirname, '..', '..');
  const target = process.env.BENCH_LIBRARY
    ? path.resolve(root, process.env.BENCH_LIBRARY)
    : path.join(root, 'libs', 'data-buffer', 'src');
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(target) as { DataBuffer?: Ctor };
    if (typeof mod.DataBuffer !== 'function') {
      loadError = 'the library does not export DataBuffer (yet)';
      loaded = null;
    } else {
      loaded = mod.DataBuffer;
    }
  } catch (err) {
    loadError = `the library could not be loaded: ${(err as Error).message.split('\n')[0]}`;
    loaded = null;
  }
  return loaded;
}

/** Whether the library is there; when not, `libraryError()` says why. */
export function libraryAvailable(): boolean {
  return load() !== null;
}

export function libraryError(): string {
  load();
  return loadError;
}

let seq = 0;

/** A new, started buffer. */
export function createBuffer<T>(
  options: Omit<BufferOptions, 'name'> & { name?: string },
  hooks: DataBufferHooks<T>,
): BenchBuffer<T> {
  const DataBuffer = load();
  if (!DataBuffer) throw new Error(libraryError());
  const buffer = new DataBuffer<T>({ ...options, name: options.name ?? `bench-${++seq}` }, hooks);
  buffer.start();
  return buffer;
}
