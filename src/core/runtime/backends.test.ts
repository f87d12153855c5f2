import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { backendMatMulIsFast, describeBackend, initBackend } from './backends';

describe('initBackend in Node', () => {
  it("'auto' picks wasm (no navigator.gpu) and says why", async () => {
    const info = await initBackend('auto');
    expect(info.name).toBe('wasm');
    expect(info.requested).toBe('auto');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.reason).toMatch(/navigator\.gpu/);
    expect(info.threads).toBeGreaterThanOrEqual(1);
    expect(describeBackend()).toMatch(/^wasm/);
  });

  it('after wasm is picked, conv filter gradients run on wasm (kernel registered)', async () => {
    await initBackend('wasm');
    const dw = tf.tidy(() => {
      const x = tf.ones([1, 4, 4, 1]);
      const g = tf.grad((w: tf.Tensor) => tf.sum(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'valid')));
      return g(tf.ones([3, 3, 1, 1])).dataSync();
    });
    expect(Array.from(dw)).toEqual(new Array(9).fill(4));
  });

  it("'cpu' picks cpu", async () => {
    const info = await initBackend('cpu');
    expect(info.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(info.reason.length).toBeGreaterThan(0);
    expect(info.threads).toBeUndefined();
  });

  it("'webgpu' falls back to wasm in Node and reports the webgpu failure", async () => {
    const info = await initBackend('webgpu');
    expect(info.name).toBe('wasm');
    expect(info.reason).toMatch(/webgpu: navigator\.gpu is not available/);
  });
});

describe('initBackend with a stubbed navigator.gpu', () => {
  afterEach(() => vi.unstubAllGlobals());
  const stubAdapter = (info: Record<string, unknown>, isFallbackAdapter = false) =>
    vi.stubGlobal('navigator', { gpu: { requestAdapter: async () => ({ info, isFallbackAdapter, features: new Set(), limits: {} }) } });

  it("'auto' treats a SwiftShader adapter as slow and uses wasm", async () => {
    stubAdapter({ vendor: 'google', architecture: 'swiftshader', device: '', description: '' }, true);
    const info = await initBackend('auto');
    expect(info.name).toBe('wasm');
    expect(info.isFallbackAdapter).toBe(true);
    expect(info.adapterInfo).toMatch(/swiftshader/);
    expect(info.reason).toMatch(/SwiftShader \(fallback\).*treated as slow, using wasm/);
    // wasm was chosen over the software adapter: its matrix products are the fast path
    expect(info.softwareAdapter).toBeUndefined();
    expect(backendMatMulIsFast()).toBe(true);
  });

  it("'webgpu' tries a software adapter anyway (and reports why it failed here)", async () => {
    stubAdapter({ vendor: 'google', architecture: 'swiftshader' }, true);
    const info = await initBackend('webgpu');
    // The webgpu backend registers only when navigator.gpu exists at import time, so it cannot start in Node.
    expect(info.name).toBe('wasm');
    expect(info.reason).toMatch(/webgpu:.*(not found|failed)/);
    expect(info.reason).not.toMatch(/treated as slow/);
  });

  it('a null adapter is reported', async () => {
    vi.stubGlobal('navigator', { gpu: { requestAdapter: async () => null } });
    const info = await initBackend('auto');
    expect(info.name).toBe('wasm');
    expect(info.reason).toMatch(/returned no adapter/);
  });
});

describe('initBackend in a browser (IS_NODE off) insists on a same-origin wasm path', () => {
  afterEach(() => {
    tf.env().set('IS_NODE', true);
    vi.unstubAllGlobals();
  });

  it("'auto' and 'wasm' without wasmPath throw BAD_CONFIG; 'cpu' needs none", async () => {
    tf.env().set('IS_NODE', false);
    await expect(initBackend('auto')).rejects.toMatchObject({ code: 'BAD_CONFIG' });
    await expect(initBackend('wasm')).rejects.toMatchObject({ code: 'BAD_CONFIG' });
    expect((await initBackend('cpu')).name).toBe('cpu');
  });

  it('a wasm path on another origin (a CDN) is refused', async () => {
    tf.env().set('IS_NODE', false);
    vi.stubGlobal('location', { origin: 'http://localhost:5173' });
    await expect(initBackend('wasm', { wasmPath: 'https://wasm-mirror.example.com/npm/@tensorflow/tfjs-backend-wasm/dist/' }))
      .rejects.toMatchObject({ code: 'BAD_CONFIG', message: expect.stringMatching(/not on this origin/) });
  });
});
