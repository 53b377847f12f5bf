/** Small numeric helpers for trial results. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function min(values: readonly number[]): number {
  return values.length === 0 ? NaN : Math.min(...values);
}

export function max(values: readonly number[]): number {
  return values.length === 0 ? NaN : Math.max(...values);
}

/** Thousands-separated integer, or a short form for rates (1.23 M). */
export function fmtInt(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  return Math.round(value).toLocaleString('en-US');
}

export function fmtRate(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)} M/s`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(1)} k/s`;
  return `${value.toFixed(0)} /s`;
}

export function fmtRatio(value: number, digits = 2): string {
  return Number.isFinite(value) ? `${value.toFixed(digits)}×` : 'n/a';
}

/** A ratio as checked against a target: three decimals, so 0.698 does not print as 0.70. */
export function fmtTarget(value: number): string {
  return fmtRatio(value, 3);
}

export function fmtPct(part: number, whole: number): string {
  if (whole === 0) return 'n/a';
  const pct = (100 * part) / whole;
  return pct === 100 ? '100%' : `${pct.toFixed(pct > 99 ? 2 : 1)}%`;
}

/** Median of the per-round ratios a[i] / b[i] (runs of one round are adjacent in time). */
export function pairedRatio(a: readonly number[] | undefined, b: readonly number[] | undefined): number {
  if (!a || !b) return NaN;
  const n = Math.min(a.length, b.length);
  const ratios: number[] = [];
  for (let i = 0; i < n; i++) ratios.push(a[i] / b[i]);
  return median(ratios);
}

/** CPU time (user + system, all threads of this process) since `start`, in ms. */
export function cpuMsSince(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
}

/** The p-th percentile (0..100) of values already sorted ascending, nearest rank. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** Milliseconds with a precision that suits them (0.42 ms, 5.1 ms, 1,002 ms). */
export function fmtMs(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (value < 1) return `${value.toFixed(2)} ms`;
  if (value < 100) return `${value.toFixed(1)} ms`;
  return `${fmtInt(value)} ms`;
}
