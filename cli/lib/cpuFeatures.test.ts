import { describe, expect, it } from 'vitest';
import { cpuFeaturesOf, hostCpuFeatures } from './cpuFeatures.js';

describe('cpuFeaturesOf', () => {
  it('tells VNNI/AMX machines from AVX2-only ones, and says unknown where it cannot read', () => {
    const avx2 = cpuFeaturesOf('processor\t: 0\nflags\t\t: fpu sse avx2 fma\n', 'x64', 'AMD EPYC');
    expect(avx2).toEqual({ model: 'AMD EPYC', arch: 'x64', int8DotProduct: false, flags: ['avx2'] });
    expect(cpuFeaturesOf('flags : avx2 avx512bw avx512_vnni amx_int8', 'x64', 'Xeon').int8DotProduct).toBe(true);
    expect(cpuFeaturesOf('flags : avx2 avx_vnni', 'x64', 'Core').flags).toEqual(['avx2', 'avx_vnni']);
    expect(cpuFeaturesOf(null, 'x64', 'x').int8DotProduct).toBeNull();
    expect(cpuFeaturesOf('flags : neon', 'arm64', 'x').int8DotProduct).toBeNull();
    expect(typeof hostCpuFeatures().model).toBe('string');
  });
});
