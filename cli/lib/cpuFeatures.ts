/**
 * What this machine's CPU offers ONNX Runtime's integer kernels: on x86-64 without VNNI (AVX2 or AVX-512BW
 * only) its U8S8 kernels saturate int16 pair sums on full-range int8 weights (quant/config.ts
 * portableWeightBits). Read from /proc/cpuinfo (Linux); elsewhere unknown.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

export interface CpuFeatures {
  model: string;
  arch: string;
  /** AVX-512 VNNI, AVX-VNNI or AMX-INT8: int8 dot products accumulate in int32 (no saturation). null = unknown. */
  int8DotProduct: boolean | null;
  flags: string[];
}

const INT8_DOT = ['avx512_vnni', 'avx_vnni', 'amx_int8'];
const REPORTED = ['avx2', 'avx512bw', ...INT8_DOT];

/** Parses the first "flags" line of /proc/cpuinfo text. */
export function cpuFeaturesOf(cpuinfo: string | null, arch: string, model: string): CpuFeatures {
  const line = cpuinfo?.split('\n').find((l) => /^flags\s*:/.test(l));
  const all = line ? new Set(line.split(':')[1].trim().split(/\s+/)) : null;
  const int8DotProduct = arch !== 'x64' ? null : all ? INT8_DOT.some((f) => all.has(f)) : null;
  return { model, arch, int8DotProduct, flags: all ? REPORTED.filter((f) => all.has(f)) : [] };
}

export function hostCpuFeatures(): CpuFeatures {
  let cpuinfo: string | null = null;
  try {
    cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    cpuinfo = null;
  }
  return cpuFeaturesOf(cpuinfo, process.arch, cpus()[0]?.model ?? 'unknown');
}
