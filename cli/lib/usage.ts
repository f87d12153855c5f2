import { toUserError } from '../../src/core/toUserError.js';

/** Bad command-line usage: exit code 2. */
export class UsageError extends Error {}

/**
 * What a user reads for any thrown value: "CODE: message" and the hint on its own line. Unexpected errors
 * get a generic typed message; their JS text is shown only with LOCALQUANT_DEBUG=1.
 */
export function formatError(e: unknown, debug = !!process.env.LOCALQUANT_DEBUG): string {
  const { error, detail } = toUserError(e);
  const lines = [`${error.code}: ${error.message}`];
  if (error.hint) lines.push(`  hint: ${error.hint}`);
  if (detail && debug) lines.push(`  detail: ${e instanceof Error && e.stack ? e.stack : detail}`);
  else if (error.code === 'INTERNAL') lines.push('  (set LOCALQUANT_DEBUG=1 to see the details)');
  return lines.join('\n');
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
