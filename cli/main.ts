#!/usr/bin/env node
/**
 * `localquant` command-line entry. Each command lives in cli/commands/<name>.ts and exports
 * `run(argv: string[]): Promise<number>` (the exit code) and `help: string`.
 * Exit codes: 0 ok, 1 the run failed, 2 bad usage.
 */
import { UsageError, formatError } from './lib/usage.js';

const COMMANDS: Record<string, string> = {
  inspect: 'show a model\'s format, inputs/outputs, op counts, parameters and BatchNorms',
  eval: 'top-1 accuracy on a CIFAR-10 binary file (onnxruntime-node or our tfjs executor)',
  synth: 'synthesize calibration images from the model\'s BatchNorm statistics',
  quantize: 'quantize a model data-free and export QDQ ONNX or TF.js',
  compare: 'agreement and logit SQNR between two models',
};

function mainHelp(): string {
  const rows = Object.entries(COMMANDS).map(([k, v]) => `  ${k.padEnd(10)} ${v}`).join('\n');
  return `localquant: data-free quantization of CNNs, on this machine only\n\nUsage: localquant <command> [options]\n\nCommands:\n${rows}\n\nRun 'localquant <command> --help' for a command's options.`;
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    console.log(mainHelp());
    return cmd ? 0 : 2;
  }
  if (!(cmd in COMMANDS)) {
    console.error(`localquant: unknown command '${cmd}'. Commands: ${Object.keys(COMMANDS).join(', ')}`);
    return 2;
  }
  let mod: { run: (a: string[]) => Promise<number>; help: string };
  try {
    mod = await import(`./commands/${cmd}.ts`);
  } catch (e) {
    console.error(`localquant: command '${cmd}' is not available in this build (${(e as Error).message.split('\n')[0]})`);
    return 1;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(mod.help);
    return 0;
  }
  try {
    return await mod.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`localquant ${cmd}: ${e.message}\n(see 'localquant ${cmd} --help')`);
      return 2;
    }
    console.error(`localquant ${cmd}: ${formatError(e)}`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    console.error(`localquant: ${formatError(e)}`);
    process.exit(1);
  },
);
