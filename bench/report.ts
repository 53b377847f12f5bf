/** Renders results as Markdown and prints them. */
import type { ScenarioResult, TargetResult } from './common/result';

export interface Machine {
  cpus: number;
  cpuModel: string;
  node: string;
  v8: string;
  platform: string;
  memoryGb: number;
  /** 1-minute load average when the run started (other work on the machine) */
  loadAtStart: number;
}

export interface BenchReport {
  date: string;
  command: string;
  /** which library code was measured */
  library: string;
  machine: Machine;
  config: Record<string, unknown>;
  scenarios: ScenarioResult[];
  failures: { id: string; error: string }[];
}

function table(columns: string[], rows: string[][]): string {
  const esc = (cell: string): string => cell.replace(/\|/g, '\\|');
  const out = [`| ${columns.map(esc).join(' | ')} |`, `|${columns.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`];
  for (const row of rows) out.push(`| ${row.map(esc).join(' | ')} |`);
  return out.join('\n');
}

export function verdict(t: TargetResult): string {
  if (t.unavailable !== undefined) return 'not available';
  return t.met === true ? 'met' : t.met === false ? '**missed**' : 'not measured';
}

export function allTargets(report: BenchReport): TargetResult[] {
  return report.scenarios.flatMap((s) => s.targets);
}

/** The measured tables and the targets, without a page title (README embeds this). */
export function resultsMarkdown(report: BenchReport): string {
  const m = report.machine;
  const parts: string[] = [];
  parts.push(
    `Measured ${report.date} with \`${report.command}\` (${report.library}) on ${m.cpus} CPU(s) (${m.cpuModel}), ` +
      `${m.memoryGb} GB RAM, Node ${m.node} (V8 ${m.v8}), ${m.platform}; load average ${m.loadAtStart} when it started. ` +
      `Settings: ${Object.entries(report.config)
        .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`)
        .join(', ')}.`,
  );
  parts.push('### Targets');
  parts.push(table(['target', 'measured', 'result'], allTargets(report).map((t) => [t.target, t.measured, verdict(t)])));
  for (const s of report.scenarios) {
    parts.push(`### ${s.title}`);
    parts.push(s.setup);
    parts.push(table(s.columns, s.rows));
    for (const note of s.notes) parts.push(`> ${note}`);
  }
  for (const f of report.failures) parts.push(`### ${f.id}: failed\n\n\`\`\`\n${f.error}\n\`\`\``);
  return parts.join('\n\n');
}

/** Plain-text tables for the terminal. */
export function consoleText(report: BenchReport): string {
  const lines: string[] = [];
  const pad = (rows: string[][]): string[] => {
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
    return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
  };
  for (const s of report.scenarios) {
    lines.push('', s.title, ...pad([s.columns, ...s.rows]));
  }
  lines.push('', 'Targets', ...pad([['target', 'measured', 'result'], ...allTargets(report).map((t) => [t.target, t.measured, verdict(t).replace(/\*/g, '')])]));
  for (const f of report.failures) lines.push('', `${f.id} FAILED: ${f.error.split('\n')[0]}`);
  return lines.join('\n');
}
