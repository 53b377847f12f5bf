/**
 * Interleaved trials: every round runs each contender once, the order reversed every other
 * round (A B C, C B A, ...), so drift on a noisy machine hits all contenders alike.
 * A full GC (when exposed) runs before every run, outside the timed region.
 */
export interface Contender<M> {
  name: string;
  run: () => Promise<M>;
}

export function fullGc(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
}

export async function interleaved<M>(
  contenders: readonly Contender<M>[],
  warmup: number,
  trials: number,
  log: (line: string) => void = () => undefined,
): Promise<Map<string, M[]>> {
  // BENCH_FILTER=<regex> keeps only matching contenders (e.g. for profiling one of them)
  const filter = process.env.BENCH_FILTER ? new RegExp(process.env.BENCH_FILTER) : null;
  if (filter) contenders = contenders.filter((c) => filter.test(c.name));
  const results = new Map<string, M[]>(contenders.map((c) => [c.name, []]));
  for (let round = 0; round < warmup; round++) {
    for (const c of contenders) {
      fullGc();
      await c.run();
    }
  }
  for (let round = 0; round < trials; round++) {
    const order = round % 2 === 0 ? contenders : [...contenders].reverse();
    for (const c of order) {
      fullGc();
      const m = await c.run();
      results.get(c.name)!.push(m);
      log(`  round ${round + 1}/${trials} ${c.name}: ${JSON.stringify(m)}`);
    }
  }
  return results;
}
