import { vi } from 'vitest';

/** Test helper: runs a CLI command and returns its exit code and what it printed with console.log. */
export async function captureLog(run: (argv: string[]) => Promise<number>, argv: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  try {
    return { code: await run(argv), out: lines.join('\n') };
  } finally {
    spy.mockRestore();
  }
}
