import { isLocalQuantError } from '../../src/core/errors.js';

/** Bad command-line usage: exit code 2. */
export class UsageError extends Error {}

/** One line a user can act on, for any thrown value. */
export function formatError(e: unknown): string {
  if (isLocalQuantError(e)) return e.hint ? `${e.message} ${e.hint}` : e.message;
  if (e instanceof Error) return e.message.split('\n')[0];
  return String(e);
}

/** Minimal flag parser: --name value, --flag, positional arguments. Unknown flags are a UsageError. */
export function parseArgs(
  argv: string[],
  spec: Record<string, 'string' | 'boolean'>,
): { flags: Record<string, string | boolean | undefined>; positional: string[] } {
  const flags: Record<string, string | boolean | undefined> = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--') || (a.startsWith('-') && a.length === 2 && isNaN(Number(a)))) {
      let name = a.replace(/^--?/, '');
      let value: string | undefined;
      const eq = name.indexOf('=');
      if (eq >= 0) {
        value = name.slice(eq + 1);
        name = name.slice(0, eq);
      }
      const kind = spec[name];
      if (!kind) throw new UsageError(`unknown option '${a}'`);
      if (kind === 'boolean') {
        flags[name] = true;
      } else {
        if (value === undefined) {
          value = argv[++i];
          if (value === undefined) throw new UsageError(`option --${name} needs a value`);
        }
        flags[name] = value;
      }
    } else positional.push(a);
  }
  return { flags, positional };
}
