import { initBackend, type BackendName } from '../../runtime/backends.js';
import { runCampaign, seedModels } from './campaign.js';

/**
 * The process `npm run fuzz` (bench/fuzz.ts) forks: runs cases [first, first + count) of a seeded campaign
 * and reports each case's start and outcome over IPC, so that the parent can kill it on a hang (a
 * synchronous tfjs kernel cannot be interrupted in-process) and go on with the next case.
 * argv: seed first count timeoutMs backend
 */
const [seed, first, count, timeoutMs] = process.argv.slice(2, 6).map(Number);
const backend = (process.argv[6] ?? 'wasm') as BackendName;
await initBackend(backend);
const seeds = await seedModels();
await runCampaign(seeds, {
  seed,
  first,
  cases: count,
  timeoutMs,
  onStart: (index, seedModel, mutation) => process.send!({ type: 'start', index, seedModel, mutation }),
  onCase: (c) => process.send!({ type: 'done', case: c }),
});
process.disconnect();
