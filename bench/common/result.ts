/** What a scenario hands back to the runner. */
export interface TargetResult {
  /** e.g. "unkeyed insert p=4 ≥ 0.7× bare array" */
  target: string;
  /** the measured value, formatted */
  measured: string;
  /** true met, false missed, null not measurable (library missing) */
  met: boolean | null;
  /** set when the library cannot run the scenario (missing, or it refuses an option): why */
  unavailable?: string;
}

export interface ScenarioResult {
  id: string;
  title: string;
  /** one or more paragraphs: what is measured, and how */
  setup: string;
  columns: string[];
  rows: string[][];
  targets: TargetResult[];
  notes: string[];
  /** raw numbers for latest.json */
  data: unknown;
}
