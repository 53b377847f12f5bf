/**
 * Loads the library under test from its source (libs/data-buffer/src), as a user of the
 * engine would use it without Nest. `BENCH_LIBRARY` may point at another build of it (for
 * example the compiled dist) relative to the repository root.
 */
import * as path from 'node:path';

import type { BufferKey, BufferOptions, DataBuffer, DataBufferHooks } from '../../libs/data-buffer/src';

/** The library's buffer, typed from its source so the bench breaks at compile time if the API drifts. */
export type BenchBuffer<T> = DataBuffer<T>;
type Ctor = typeof DataBuffer;

/**
 * The delivery options of version 2 of the contract (group commit, byte limits, poison isolation,
 * coalescing), typed here for the item type of a scenario. A library that does not know them
 * refuses them at construction; `optionRefusal` finds out before a scenario relies on them.
 */
export interface DeliveryOptions<T> {
  commitDelay?: number;
  maxBatchBytes?: number;
  sizeOf?: (item: T) => number;
  splitOnFailure?: boolean;
  coalesce?: { key: (item: T) => BufferKey; merge: (pending: T, next: T) => T };
}

/** Options of a bench buffer: a generated name unless given, the delivery options typed for T. */
export type BenchOptions<T> = Omit<BufferOptions, 'name' | keyof DeliveryOptions<T>> & { name?: string } & DeliveryOptions<T>;

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
export function createBuffer<T>(options: BenchOptions<T>, hooks: DataBufferHooks<T>): BenchBuffer<T> {
  const DataBuffer = load();
  if (!DataBuffer) throw new Error(libraryError());
  const named = { ...options, name: options.name ?? `bench-${++seq}` } as unknown as BufferOptions;
  const buffer = new DataBuffer<T>(named, hooks);
  buffer.start();
  return buffer;
}

/**
 * Why the library cannot run a buffer with `options` (it is missing, or it refuses an option it
 * does not know yet), or null when it can. Scenarios call it once up front and report their
 * library rows as "not available" instead of crashing.
 */
export async function optionRefusal<T>(options: BenchOptions<T>): Promise<string | null> {
  if (!libraryAvailable()) return libraryError();
  let buffer: BenchBuffer<T>;
  try {
    buffer = createBuffer<T>(options, { onFlush: () => undefined });
  } catch (err) {
    const option = (err as { option?: unknown }).option;
    if (typeof option === 'string') return `the library refuses the option "${option}"`;
    return `the library refuses it: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
  }
  await buffer.close(1000);
  return null;
}
