/**
 * Runs one scenario in its own process (a clean heap and JIT state per scenario) and sends the
 * result to the parent. Started by run.ts; `node --expose-gc -r ts-node/register/transpile-only
 * bench/worker.ts <scenario>` runs one scenario by hand and prints its result.
 */
import { loadConfig } from './common/config';
import type { ScenarioResult } from './common/result';
import { SCENARIOS } from './scenarios';

async function main(): Promise<void> {
  const id = process.argv[2];
  const scenario = SCENARIOS.find((s) => s.id === id);
  if (!scenario) throw new Error(`unknown scenario ${id}; one of ${SCENARIOS.map((s) => s.id).join(', ')}`);
  const log = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  const result: ScenarioResult = await scenario.run(loadConfig(), log);
  if (process.send) {
    await new Promise<void>((resolve, reject) =>
      process.send!({ type: 'result', result }, (err: Error | null) => (err ? reject(err) : resolve())),
    );
  } else {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
