/**
 * Scenario 5: heap bytes per pending item. N fresh 3-field objects are created and inserted one
 * by one, so the container is their only holder; the per-item cost is the heapUsed delta across
 * the inserts (full GC before and after, the container itself created before the first reading)
 * divided by N. The buffer is configured so nothing flushes (maxSize and capacity above N,
 * interval one hour). "objects alone" stores the same objects into a preallocated array and
 * subtracts the array: what the objects themselves weigh.
 */
import { Item, makeItem } from '../common/item';
import { createBuffer, libraryAvailable, libraryError } from '../common/library';
import type { ScenarioResult, TargetResult } from '../common/result';
import { Sink } from '../common/sink';
import { fmtInt, fmtRatio, fmtTarget, max, median, min } from '../common/stats';
import { fullGc, interleaved, type Contender } from '../common/trials';
import type { BenchConfig } from '../common/config';

function heapUsed(): number {
  fullGc();
  return process.memoryUsage().heapUsed;
}

export async function run(config: BenchConfig, log: (line: string) => void): Promise<ScenarioResult> {
  if (typeof (globalThis as { gc?: unknown }).gc !== 'function') {
    throw new Error('the heap scenario needs node --expose-gc');
  }
  const n = config.heapItems;
  const haveLib = libraryAvailable();
  if (!haveLib) log(`  library skipped: ${libraryError()}`);
  const contenders: Contender<number>[] = [];

  if (haveLib) {
    for (const partitions of [1, 4]) {
      contenders.push({
        name: `DataBuffer (partitions ${partitions})`,
        run: async () => {
          const sink = new Sink();
          const buffer = createBuffer<Item>(
            { partitions, maxSize: n * 2, interval: 3_600_000, capacity: n * 2, overflow: 'reject' },
            { onFlush: sink.handle },
          );
          const before = heapUsed();
          for (let i = 0; i < n; i++) buffer.insert(makeItem(i));
          const after = heapUsed();
          const pending = buffer.stats().pending;
          if (pending !== n || sink.delivered !== 0) throw new Error(`expected ${n} pending, got ${pending} (${sink.delivered} flushed)`);
          await buffer.close(5000);
          return (after - before) / n;
        },
      });
    }
  }
  contenders.push(
    {
      name: 'bare array',
      run: async () => {
        const array: Item[] = [];
        const before = heapUsed();
        for (let i = 0; i < n; i++) array.push(makeItem(i));
        const after = heapUsed();
        if (array.length !== n) throw new Error('lost items');
        return (after - before) / n;
      },
    },
    {
      name: 'objects alone (preallocated array subtracted)',
      run: async () => {
        const array: Item[] = new Array(n);
        const before = heapUsed();
        for (let i = 0; i < n; i++) array[i] = makeItem(i);
        const after = heapUsed();
        if (array.length !== n) throw new Error('lost items');
        return (after - before) / n;
      },
    },
  );

  const results = await interleaved(contenders, config.warmup, config.trials, log);
  const summary = new Map<string, { median: number; min: number; max: number }>();
  for (const [name, values] of results) summary.set(name, { median: median(values), min: min(values), max: max(values) });
  const bare = summary.get('bare array') ?? { median: NaN };
  const objects = summary.get('objects alone (preallocated array subtracted)') ?? { median: NaN };
  const rows = [...summary].map(([name, s]) => [
    name,
    s.median.toFixed(1),
    `${s.min.toFixed(1)} – ${s.max.toFixed(1)}`,
    name.startsWith('objects') ? '–' : (s.median - objects.median).toFixed(1),
    fmtRatio(s.median / bare.median),
  ]);
  const targets: TargetResult[] = [];
  for (const partitions of [1, 4]) {
    const s = summary.get(`DataBuffer (partitions ${partitions})`);
    targets.push({
      target: `5. heap per pending item, partitions ${partitions}: ≤ 1.5× bare array`,
      measured: s ? `${fmtTarget(s.median / bare.median)} (${s.median.toFixed(1)} vs ${bare.median.toFixed(1)} bytes)` : 'n/a',
      met: s ? s.median / bare.median <= 1.5 : null,
    });
  }
  return {
    id: 'heap',
    title: '5. Heap per pending item',
    setup:
      `${fmtInt(n)} fresh 3-field objects (\`{ id, n, tag }\`, small integers and a shared string) inserted one by one ` +
      `so the container is their only holder; bytes per item = heapUsed delta (after a full GC, \`--expose-gc\`) ÷ ${fmtInt(n)}. ` +
      `DataBuffer with maxSize and capacity ${fmtInt(n * 2)} and a one-hour interval, so nothing flushes. ` +
      `"container" = bytes per item minus what the objects alone weigh. ` +
      `${config.warmup} warm-up + ${config.trials} interleaved trials, median.`,
    columns: ['contender', 'bytes/item (median)', 'range', 'container bytes/item', 'vs bare array'],
    rows,
    targets,
    notes: haveLib ? [] : [`DataBuffer not measured: ${libraryError()}`],
    data: { items: n, trials: Object.fromEntries(results), summary: Object.fromEntries(summary) },
  };
}
