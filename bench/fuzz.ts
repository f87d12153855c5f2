/**
 * npm run fuzz [-- --cases N --seed S --timeout SECONDS --backend wasm|cpu]
 *
 * The long mutation-fuzz campaign (issue 9): N (default 1200) seeded malformed models, each through
 * import -> prepare (shape checks) -> probe -> a 1-image forward pass with a leak check, in a child
 * process that is killed when a case exceeds the wall timeout (counted as a hang; the campaign resumes
 * at the next case). Prints the table of outcome classes and writes bench-results/fuzz.json.
 */
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { outcomeClass } from '../src/core/testing/fuzz/runCase.js';
import { tabulate, type FuzzCase } from '../src/core/testing/fuzz/campaign.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}
const total = Number(arg('cases', '1200'));
const seed = Number(arg('seed', '1'));
const timeoutS = Number(arg('timeout', '20'));
const backend = arg('backend', 'wasm');
if (!(total >= 1) || !Number.isInteger(seed) || !(timeoutS > 0) || !['wasm', 'cpu'].includes(backend)) {
  console.error('usage: npm run fuzz -- [--cases N>=1] [--seed INT] [--timeout SECONDS] [--backend wasm|cpu]');
  process.exit(2);
}

const child = new URL('../src/core/testing/fuzz/fuzzChild.ts', import.meta.url);
const cases: FuzzCase[] = [];
const t0 = performance.now();

/** Runs cases [first, total) in one child; resolves with the index to resume from (total when finished). */
function runChild(first: number): Promise<number> {
  return new Promise((resolve) => {
    const p = fork(child, [String(seed), String(first), String(total - first), String(timeoutS * 1000), backend], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    let current: { index: number; seedModel: FuzzCase['seedModel']; mutation: string; started: number } | undefined;
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const finish = (next: number) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(next);
    };
    const fail = (kind: 'hang' | 'crash') => {
      if (settled) return; // the kill after a hang also ends in 'exit'
      if (!current) return finish(total); // died before its first case: nothing to resume
      const seconds = (performance.now() - current.started) / 1000;
      const outcome = kind === 'hang' ? { kind: 'hang' as const, seconds } : { kind: 'generic' as const, message: 'the process crashed' };
      cases.push({ index: current.index, seedModel: current.seedModel, mutation: current.mutation, outcome, seconds });
      finish(current.index + 1);
    };
    p.on('message', (m: { type: 'start'; index: number; seedModel: FuzzCase['seedModel']; mutation: string } | { type: 'done'; case: FuzzCase }) => {
      if (m.type === 'start') {
        current = { index: m.index, seedModel: m.seedModel, mutation: m.mutation, started: performance.now() };
        timer = setTimeout(() => {
          p.kill('SIGKILL');
          fail('hang');
        }, timeoutS * 1000);
      } else {
        clearTimeout(timer);
        cases.push(m.case);
        if ((cases.length % 200) === 0) console.error(`  ${cases.length}/${total} cases, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
        current = undefined;
      }
    });
    p.on('exit', () => (current ? fail('crash') : finish(total)));
  });
}

let next = 0;
while (next < total) next = await runChild(next);

const table = tabulate(cases);
console.log(`\nMutation fuzz: ${cases.length} cases, seed ${seed}, ${backend}, wall timeout ${timeoutS} s per case, ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
console.table(table);
const byMutation = new Map<string, Map<string, number>>();
for (const c of cases) {
  const key = `${c.seedModel.startsWith('tfjs') ? c.seedModel : 'onnx'}:${c.mutation}`;
  const row = byMutation.get(key) ?? new Map<string, number>();
  const k = outcomeClass(c.outcome).replace('typed:', '');
  row.set(k, (row.get(k) ?? 0) + 1);
  byMutation.set(key, row);
}
console.log('\nBy mutation (outcome: cases):');
for (const [k, row] of [...byMutation].sort()) console.log(`  ${k.padEnd(34)} ${[...row].map(([o, n]) => `${o} ${n}`).join(', ')}`);
const bad = cases.filter((c) => ['generic', 'hang', 'nan', 'leak'].includes(c.outcome.kind));
for (const c of bad.slice(0, 20)) console.log(`  FAIL case ${c.index} ${c.seedModel} ${c.mutation}: ${JSON.stringify(c.outcome).slice(0, 200)}`);
mkdirSync('bench-results', { recursive: true });
writeFileSync('bench-results/fuzz.json', JSON.stringify({ seed, backend, timeoutS, cases: cases.length, table, failures: bad, slowest: [...cases].sort((a, b) => b.seconds - a.seconds).slice(0, 10) }, null, 2));
console.log('\nwrote bench-results/fuzz.json');
process.exit(bad.length ? 1 : 0);
