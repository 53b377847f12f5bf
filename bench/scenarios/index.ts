/** Every scenario, in run order. */
import type { BenchConfig } from '../common/config';
import type { ScenarioResult } from '../common/result';
import * as bytes from './bytes';
import * as coalesce from './coalesce';
import * as commit from './commit';
import * as groupCommit from './group-commit';
import * as heap from './heap';
import * as keyed from './keyed';
import * as poison from './poison';
import * as slowSink from './slow-sink';
import * as unkeyed from './unkeyed';

export interface Scenario {
  id: string;
  run: (config: BenchConfig, log: (line: string) => void) => Promise<ScenarioResult>;
}

export const SCENARIOS: Scenario[] = [
  { id: 'unkeyed', run: unkeyed.run },
  { id: 'keyed', run: keyed.run },
  { id: 'commit', run: commit.run },
  { id: 'slow-sink', run: slowSink.run },
  { id: 'heap', run: heap.run },
  { id: 'group-commit', run: groupCommit.run },
  { id: 'coalesce', run: coalesce.run },
  { id: 'bytes', run: bytes.run },
  { id: 'poison', run: poison.run },
];
