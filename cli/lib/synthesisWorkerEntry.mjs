// Worker-thread entry: a worker does not inherit the parent's tsx loader (Node 20), so it registers tsx
// itself and then loads the TypeScript worker (synthesisWorker.ts).
import { register } from 'tsx/esm/api';

register();
await import('./synthesisWorker.ts');
