import { importModel } from '../../src/core/importers/index.js';
import { formatShape, summarizeGraph, type ModelSummary } from '../../src/core/ir/summary.js';
import { describeFloatTail, floatTailReport, splitFloatTail, type FloatTailReport } from '../../src/core/pipeline/floatTail.js';
import { readModelFiles, totalBytes } from '../lib/readModelFiles.js';
import { UsageError, parseArgs } from '../lib/usage.js';

export const help = `localquant inspect MODEL [--json]

Show a model's format, inputs and outputs with shapes, operator counts, parameter count, number of
BatchNorm layers and size; for a detector, where its float tail (post-processing that quantize keeps
float) begins. MODEL is an .onnx file (external data files beside it are read too), a TF.js
model.json (its weight shards beside it), or a folder holding one of those.

Options:
  --json    print the summary as JSON (ModelSummary, plus floatTail for a detector)`;

const FORMAT_NAMES: Record<ModelSummary['format'], string> = {
  onnx: 'ONNX model',
  'tfjs-layers': 'TF.js layers model',
  'tfjs-graph': 'TF.js graph model',
};

const n = (v: number) => v.toLocaleString('en-US');

export function formatSummary(name: string, s: ModelSummary, tail?: FloatTailReport): string {
  const lines: string[] = [];
  const extra = [`opset ${s.opset}`, s.producer].filter(Boolean).join(', ');
  lines.push(`${name}: ${FORMAT_NAMES[s.format]} (${extra}), ${n(s.sizeBytes)} bytes`);
  if (s.interfaceLayout === 'NHWC') lines.push('Interface layout: NHWC (channels last)');
  const nameWidth = Math.max(...[...s.inputs, ...s.outputs].map((v) => v.name.length), 4);
  const io = (title: string, vs: ModelSummary['inputs']) => {
    lines.push(`${title}:`);
    for (const v of vs) lines.push(`  ${v.name.padEnd(nameWidth)}  ${v.dtype.padEnd(7)} ${formatShape(v.shape)}`);
  };
  io('Inputs', s.inputs);
  io('Outputs', s.outputs);
  lines.push(`Operators (${n(s.nodeCount)} nodes):`);
  const w = Math.max(...Object.keys(s.opCounts).map((k) => k.length), 4);
  for (const [op, c] of Object.entries(s.opCounts)) lines.push(`  ${op.padEnd(w)}  ${String(c).padStart(4)}`);
  lines.push(`Parameters: ${n(s.parameterCount)}`);
  lines.push(`BatchNorm layers: ${s.batchNormCount}`);
  if (tail) {
    lines.push(describeFloatTail(tail));
    lines.push(`  the network ends at: ${tail.cutValues.join(', ')}`);
  }
  return lines.join('\n');
}

export async function run(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgs(argv, { json: 'boolean' });
  if (positional.length !== 1) throw new UsageError(positional.length ? `expected one MODEL, got ${positional.length}` : 'missing MODEL');
  const files = readModelFiles(positional[0]);
  const graph = importModel(files);
  const summary = summarizeGraph(graph, totalBytes(files));
  const tail = floatTailReport(splitFloatTail(graph).cut);
  console.log(flags.json ? JSON.stringify(tail ? { ...summary, floatTail: tail } : summary, null, 2) : formatSummary(files[0].name, summary, tail));
  return 0;
}
