/**
 * The bare baseline of the poison scenario: bisection without a stop rule, as AWS Lambda's
 * `BisectBatchOnFunctionError` does it. The whole batch gets `retries + 1` attempts; then a
 * failed part of more than one item is split in two halves (the first `ceil(n/2)` items, then
 * the rest), each attempted once, depth-first, until single items are left; every failed single
 * item goes to the error handler. With a sink that is simply down this tries every item alone.
 */
export interface BisectReport {
  attempts: number;
  delivered: number;
  failed: number;
  errorCalls: number;
}

export async function bareBisect<T>(
  items: T[],
  retries: number,
  handler: (items: T[]) => Promise<void>,
  onError: (error: unknown, items: T[]) => void,
): Promise<BisectReport> {
  const report: BisectReport = { attempts: 0, delivered: 0, failed: 0, errorCalls: 0 };
  const attempt = async (part: T[]): Promise<unknown> => {
    report.attempts++;
    try {
      await handler(part);
      report.delivered += part.length;
      return undefined;
    } catch (err) {
      return err ?? new Error('failed');
    }
  };
  const bisect = async (part: T[], error: unknown): Promise<void> => {
    if (part.length === 1) {
      report.failed++;
      report.errorCalls++;
      onError(error, part);
      return;
    }
    const half = Math.ceil(part.length / 2);
    for (const sub of [part.slice(0, half), part.slice(half)]) {
      const err = await attempt(sub);
      if (err !== undefined) await bisect(sub, err);
    }
  };
  let error: unknown;
  for (let a = 0; a <= retries; a++) {
    error = await attempt(items);
    if (error === undefined) return report;
  }
  await bisect(items, error);
  return report;
}
