/** Bench settings: full-size defaults, `BENCH_QUICK=1` for a smoke run, single knobs overridable by env. */
export interface BenchConfig {
  quick: boolean;
  /** items per trial for scenarios 1 and 2 */
  items: number;
  /** items per trial for scenario 3 (commit) */
  commitItems: number;
  /** pending items measured in scenario 5 (heap) */
  heapItems: number;
  /** timed trials per contender (median reported) */
  trials: number;
  /** untimed warm-up runs per contender */
  warmup: number;
  /** scenario 4: offered rate (items/s) and duration (s) */
  slowRate: number;
  slowSeconds: number;
  /** scenario 4: runs per contender */
  slowRuns: number;
  /** scenario 6 (group commit): how long the committers run per trial, in ms */
  groupMs: number;
  /** scenario 7 (coalescing): increments per trial */
  coalesceItems: number;
  /** scenarios to run (ids), all when null */
  only: string[] | null;
}

function int(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got ${raw}`);
  return value;
}

export function loadConfig(): BenchConfig {
  const quick = process.env.BENCH_QUICK === '1' || process.env.BENCH_QUICK === 'true';
  const items = int('BENCH_ITEMS', quick ? 200_000 : 2_000_000);
  const only = process.env.BENCH_ONLY
    ? process.env.BENCH_ONLY.split(',').map((s) => s.trim()).filter(Boolean)
    : null;
  return {
    quick,
    items,
    commitItems: int('BENCH_COMMIT_ITEMS', items),
    heapItems: int('BENCH_HEAP_ITEMS', quick ? 200_000 : 1_000_000),
    trials: int('BENCH_TRIALS', quick ? 3 : 7),
    warmup: int('BENCH_WARMUP', 1),
    slowRate: int('BENCH_SLOW_RATE', 100_000),
    slowSeconds: int('BENCH_SLOW_SECONDS', quick ? 1 : 3),
    slowRuns: int('BENCH_SLOW_RUNS', 1),
    groupMs: int('BENCH_GROUP_MS', quick ? 500 : 1000),
    coalesceItems: int('BENCH_COALESCE_ITEMS', items),
    only,
  };
}
