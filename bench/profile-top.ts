/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time per function, top N, with
 * file:line, and the total for each file. Usage:
 *   node -r ts-node/register/transpile-only bench/profile-top.ts <file.cpuprofile|dir>... [--top N]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function short(url: string): string {
  if (!url) return '(native)';
  const clean = url.replace(/^file:\/\//, '');
  const marker = clean.lastIndexOf('/node_modules/');
  if (marker >= 0) return clean.slice(marker + 1);
  const rel = path.relative(process.cwd(), clean);
  return rel.startsWith('..') ? path.basename(clean) : rel;
}

function main(): void {
  const args = process.argv.slice(2);
  const topAt = args.indexOf('--top');
  const top = topAt >= 0 ? Number(args.splice(topAt, 2)[1]) : 40;
  const files = args.flatMap((a) =>
    fs.statSync(a).isDirectory()
      ? fs.readdirSync(a).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(a, f))
      : [a],
  );
  const byFn = new Map<string, number>();
  const byFile = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  for (const file of files) {
    const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const keyOf = (f: ProfileNode['callFrame']): string =>
      `${f.functionName || '(anonymous)'}  ${short(f.url)}${f.url ? `:${f.lineNumber + 1}` : ''}`;
    for (let i = 0; i < profile.samples.length; i++) {
      const us = profile.timeDeltas[i] ?? 0;
      const f = byId.get(profile.samples[i])!.callFrame;
      // the inspector's own start/stop work, not the code under test
      if (f.functionName === 'dispatch' && !f.url) continue;
      const where = short(f.url);
      const key = keyOf(f);
      byFn.set(key, (byFn.get(key) ?? 0) + us);
      const seen = new Set<string>();
      for (let id: number | undefined = profile.samples[i]; id !== undefined; id = parent.get(id)) {
        const k = keyOf(byId.get(id)!.callFrame);
        if (seen.has(k)) continue;
        seen.add(k);
        inclusive.set(k, (inclusive.get(k) ?? 0) + us);
      }
      byFile.set(where, (byFile.get(where) ?? 0) + us);
      total += us;
    }
  }
  const pct = (us: number): string => `${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms`;
  console.log(`${files.length} profile(s), ${(total / 1000).toFixed(0)} ms sampled\n\nself time by function`);
  for (const [k, us] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(us)}  ${k}`);
  console.log('\ntotal (inclusive) time by function, project code only');
  for (const [k, us] of [...inclusive].filter(([k]) => /(libs|bench)\//.test(k)).sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${pct(us)}  ${k}`);
  }
  console.log('\nself time by file');
  for (const [k, us] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`${pct(us)}  ${k}`);
}

main();
