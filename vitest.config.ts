import { defineConfig } from 'vitest/config';

// Unit tests sit next to the code (src/**/*.test.ts, cli/**/*.test.ts, scripts/**/*.test.ts); browser tests live in e2e/.
// Forks, not threads: tfjs's wasm backend and onnxruntime-node are happier in their own process.
export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 180_000,
    include: ['src/**/*.test.ts', 'cli/**/*.test.ts', 'e2e/**/*.test.ts', 'scripts/**/*.test.ts'],
    reporters: ['default'],
  },
});
