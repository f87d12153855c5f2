import { describe, expect, it } from 'vitest';
import { isLocalQuantError } from '../errors';
import { defaultQuantConfig, depthwiseInputKeeps8bit, depthwiseKeeps8bit, layerBits, portableWeightBits, validateQuantConfig } from './config';

function errorOf(f: () => unknown): { code: string; message: string; hint?: string } {
  try {
    f();
  } catch (e) {
    if (isLocalQuantError(e)) return { code: e.code, message: e.message, hint: e.hint };
    throw e;
  }
  throw new Error('expected a LocalQuantError');
}

describe('QuantConfig', () => {
  it('defaults validate and round-trip through JSON', () => {
    const d = defaultQuantConfig();
    expect(validateQuantConfig(JSON.parse(JSON.stringify(d)))).toEqual(d);
    expect(validateQuantConfig({})).toEqual(d);
  });
  it('fills missing fields and keeps given ones', () => {
    const c = validateQuantConfig({ version: 1, weightBits: 8, activationBits: 32, adaround: { iterations: 10 } });
    expect(c.weightBits).toBe(8);
    expect(c.activationBits).toBe(32);
    expect(c.adaround.iterations).toBe(10);
    expect(c.adaround.lambda).toBe(0.01);
  });
  it('names the bad field and the allowed values', () => {
    const e = errorOf(() => validateQuantConfig({ activationBits: 5 }));
    expect(e.code).toBe('BAD_CONFIG');
    expect(e.message).toBe('activationBits must be one of 4, 8, 32 (float); got 5');
    expect(errorOf(() => validateQuantConfig({ weightBits: 16 })).message).toBe('weightBits must be one of 2, 3, 4, 8; got 16');
    expect(errorOf(() => validateQuantConfig({ rounding: 'floor' })).message).toMatch(/rounding must be one of adaptive, nearest/);
    expect(errorOf(() => validateQuantConfig({ version: 2 })).message).toMatch(/version 2/);
    expect(errorOf(() => validateQuantConfig({ wieghtBits: 4 })).message).toMatch(/unknown config field "wieghtBits"/);
    expect(errorOf(() => validateQuantConfig({ adaround: { lr: -1 } })).message).toMatch(/adaround.lr/);
    expect(errorOf(() => validateQuantConfig(null)).message).toMatch(/JSON object/);
  });
  it('activationBitsAt: layer-inputs by default; every-activation refused where no activation is below 8 bits', () => {
    expect(validateQuantConfig({}).activationBitsAt).toBe('layer-inputs');
    expect(validateQuantConfig({ activationBits: 4, activationBitsAt: 'every-activation' }).activationBitsAt).toBe('every-activation');
    expect(validateQuantConfig({ activationBits: 32, activationBitsAt: 'every-activation', overrides: { fc: { activationBits: 4 } } }).activationBitsAt).toBe('every-activation');
    const inert = errorOf(() => validateQuantConfig({ activationBits: 8, activationBitsAt: 'every-activation' }));
    expect(inert).toMatchObject({ code: 'BAD_CONFIG', hint: 'Set activationBits to 4, or activationBitsAt to layer-inputs.' });
    expect(inert.message).toMatch(/no activation below 8 bits/);
    expect(errorOf(() => validateQuantConfig({ activationBitsAt: 'skip' })).message).toMatch(/activationBitsAt must be one of layer-inputs, every-activation/);
  });
  it('block reconstruction and QDrop are refused, with what to do, where they would change nothing', () => {
    expect(validateQuantConfig({ reconstruction: 'block', activationBits: 4, qdrop: true })).toMatchObject({ reconstruction: 'block', qdrop: true });
    expect(errorOf(() => validateQuantConfig({ reconstruction: 'blocks' })).message).toMatch(/reconstruction must be one of layer, block/);
    const nearest = errorOf(() => validateQuantConfig({ reconstruction: 'block', rounding: 'nearest' }));
    expect(nearest).toMatchObject({ code: 'BAD_CONFIG', hint: 'Set rounding to adaptive, or reconstruction to layer.' });
    expect(nearest.message).toMatch(/nothing with rounding "nearest"/);
    expect(errorOf(() => validateQuantConfig({ reconstruction: 'block', adaround: { iterations: 0 } })).message).toMatch(/at least 1/);
    expect(errorOf(() => validateQuantConfig({ reconstruction: 'block', biasCorrection: true })).message).toMatch(/bias correction is not combined/);
    expect(errorOf(() => validateQuantConfig({ qdrop: true, activationBits: 4 })).message).toMatch(/nothing with reconstruction "layer"/);
    expect(errorOf(() => validateQuantConfig({ qdrop: true, reconstruction: 'block', activationBits: 32 })).message).toMatch(/float activations/);
    // one layer with quantized activations is enough for QDrop to act on
    expect(validateQuantConfig({ qdrop: true, reconstruction: 'block', activationBits: 32, overrides: { fc: { activationBits: 8 } } }).qdrop).toBe(true);
    // learned activation step sizes: block reconstruction with quantized activations only
    expect(validateQuantConfig({ reconstruction: 'block', activationBits: 4, adaround: { blockActivationLr: 5e-3 } }).adaround.blockActivationLr).toBe(5e-3);
    expect(errorOf(() => validateQuantConfig({ activationBits: 4, adaround: { blockActivationLr: 5e-3 } })).message).toMatch(/blockActivationLr .* nothing with reconstruction "layer"/);
    expect(errorOf(() => validateQuantConfig({ reconstruction: 'block', activationBits: 32, adaround: { blockActivationLr: 5e-3 } })).message).toMatch(/float activations/);
    expect(errorOf(() => validateQuantConfig({ adaround: { blockActivationLr: -1 } })).message).toMatch(/adaround.blockActivationLr/);
    // the logit term: block reconstruction only
    expect(validateQuantConfig({ reconstruction: 'block', activationBits: 4, adaround: { blockLogitWeight: 0.5 } }).adaround.blockLogitWeight).toBe(0.5);
    expect(errorOf(() => validateQuantConfig({ activationBits: 4, adaround: { blockLogitWeight: 0.5 } })).message).toMatch(/blockLogitWeight .* nothing with reconstruction "layer"/);
    expect(errorOf(() => validateQuantConfig({ reconstruction: 'block', adaround: { blockLogitWeight: -1 } })).message).toMatch(/adaround.blockLogitWeight/);
    expect(validateQuantConfig({ reconstruction: 'block', activationBits: 4, adaround: { blockBiasLr: 1e-3 } }).adaround.blockBiasLr).toBe(1e-3);
    expect(errorOf(() => validateQuantConfig({ activationBits: 4, adaround: { blockBiasLr: 1e-3 } })).message).toMatch(/blockBiasLr .* nothing with reconstruction "layer"/);
    expect(errorOf(() => validateQuantConfig({ reconstruction: 'block', adaround: { blockBiasLr: 2 } })).message).toMatch(/adaround.blockBiasLr/);
    expect(validateQuantConfig({ reconstruction: 'block', activationBits: 4, adaround: { blockWeightScaleLr: 1e-3 } }).adaround.blockWeightScaleLr).toBe(1e-3);
    expect(errorOf(() => validateQuantConfig({ activationBits: 4, adaround: { blockWeightScaleLr: 1e-3 } })).message).toMatch(/blockWeightScaleLr .* nothing with reconstruction "layer"/);
    expect(errorOf(() => validateQuantConfig({ reconstruction: 'block', adaround: { blockWeightScaleLr: -1 } })).message).toMatch(/adaround.blockWeightScaleLr/);
  });
  it('an override of an unknown layer names it and lists known layers', () => {
    const layers = ['conv1', 'layer1.0.conv1', 'layer1.0.conv2', 'layer1.1.conv1', 'layer1.1.conv2', 'fc'];
    const e = errorOf(() => validateQuantConfig({ overrides: { conv9: { weightBits: 8 } } }, layers));
    expect(e.message).toMatch(/"conv9"/);
    expect(e.hint).toMatch(/conv1, layer1\.0\.conv1/);
    expect(e.hint).toMatch(/6 in all/);
    const ok = validateQuantConfig({ overrides: { fc: { float: true }, conv1: { activationBits: 8 } } }, layers);
    expect(ok.overrides.fc).toEqual({ float: true });
    // bits beside float would do nothing (layerBits returns null for a float layer): refused
    expect(() => validateQuantConfig({ overrides: { fc: { float: true, activationBits: 32 } } }, layers)).toThrow(/would do nothing/);
    expect(() => validateQuantConfig({ overrides: { fc: { float: true, weightBits: 4 } } }, layers)).toThrow(/would do nothing/);
    expect(errorOf(() => validateQuantConfig({ overrides: { fc: { activationBits: 6 } } }, layers)).message).toMatch(/overrides\["fc"\]\.activationBits/);
  });
  it('layerBits applies first/last and overrides', () => {
    const c = validateQuantConfig({ weightBits: 4, overrides: { mid: { weightBits: 2 }, skip: { float: true } } });
    // target ort-cpu (the default): 8-bit weights get a 7-bit range (portableWeightBits)
    expect(layerBits(c, 'first', { first: true, last: false })).toEqual({ weightBits: 7, activationBits: 8 });
    expect(layerBits({ ...c, target: 'ort-cpu-vnni' }, 'first', { first: true, last: false })).toEqual({ weightBits: 8, activationBits: 8 });
    expect(layerBits(c, 'x', { first: false, last: false })).toEqual({ weightBits: 4, activationBits: 8 });
    expect(layerBits(c, 'mid', { first: false, last: false })?.weightBits).toBe(2);
    expect(layerBits(c, 'skip', { first: false, last: false })).toBeNull();
  });
  it('target ort-web: depthwise layers read float inputs (weights still quantized); other targets and an override keep them quantized', () => {
    const dw = { first: false, last: false, depthwise: true };
    const web = validateQuantConfig({ target: 'ort-web', weightBits: 8, activationBits: 8 });
    expect(layerBits(web, 'dw', dw)).toEqual({ weightBits: 8, activationBits: 32 });
    expect(layerBits(web, 'pw', { ...dw, depthwise: false })).toEqual({ weightBits: 8, activationBits: 8 });
    expect(layerBits(validateQuantConfig({ target: 'ort-cpu', weightBits: 8, activationBits: 8 }), 'dw', dw)).toEqual({ weightBits: 7, activationBits: 8 });
    expect(layerBits(validateQuantConfig({ target: 'ort-web', overrides: { dw: { activationBits: 8 } } }), 'dw', dw)?.activationBits).toBe(8);
  });

  it('layerBits keeps depthwise layers at 8-bit weights below 8 bit, unless a per-layer override says otherwise', () => {
    const dw = { first: false, last: false, depthwise: true };
    const w4 = validateQuantConfig({ weightBits: 4, target: 'ort-web', overrides: { dw4: { weightBits: 4 }, dwFloat: { float: true } } });
    expect(layerBits(w4, 'dw', dw)).toEqual({ weightBits: 8, activationBits: 32 });
    expect(layerBits(w4, 'pw', { first: false, last: false, depthwise: false })?.weightBits).toBe(4);
    expect(layerBits(w4, 'dw4', dw)?.weightBits).toBe(4);
    expect(layerBits(w4, 'dwFloat', dw)).toBeNull();
    expect(layerBits(validateQuantConfig({ weightBits: 2, target: 'smallest' }), 'dw', dw)?.weightBits).toBe(8);
    expect(depthwiseKeeps8bit(8, dw)).toBe(false);
  });

  it('depthwise layers keep 8-bit inputs below 8-bit activations, unless overridden; ort-web keeps them float', () => {
    const dw = { first: false, last: false, depthwise: true };
    const a4 = validateQuantConfig({ weightBits: 4, activationBits: 4, target: 'ort-cpu-vnni', overrides: { dwA4: { activationBits: 4 } } });
    expect(layerBits(a4, 'dw', dw)).toEqual({ weightBits: 8, activationBits: 8 });
    expect(layerBits(a4, 'pw', { first: false, last: false, depthwise: false })?.activationBits).toBe(4);
    expect(layerBits(a4, 'dwA4', dw)?.activationBits).toBe(4);
    expect(layerBits(validateQuantConfig({ weightBits: 4, activationBits: 4, target: 'ort-web' }), 'dw', dw)?.activationBits).toBe(32);
    expect(layerBits(validateQuantConfig({ weightBits: 8, activationBits: 32 }), 'dw', dw)?.activationBits).toBe(32);
    expect(depthwiseInputKeeps8bit(8, dw)).toBe(false);
    expect(depthwiseInputKeeps8bit(4, { depthwise: false })).toBe(false);
  });
});

describe('deployment target', () => {
  it('defaults to ort-cpu, accepts the four targets and refuses others by name', () => {
    expect(validateQuantConfig({}).target).toBe('ort-cpu');
    for (const t of ['ort-cpu', 'ort-cpu-vnni', 'ort-web', 'smallest']) expect(validateQuantConfig({ target: t }).target).toBe(t);
    expect(() => validateQuantConfig({ target: 'tensorrt' })).toThrow(/target must be one of ort-cpu, ort-cpu-vnni, ort-web, smallest/);
  });

  it('ort-cpu gives every 8-bit weight grid that reads an 8-bit activation, overrides too, a 7-bit range that ORT\'s U8S8 kernels cannot saturate; the other targets keep 8 bit', () => {
    const pos = { first: false, last: false };
    const overridden = { overrides: { fc: { weightBits: 8 as const } } };
    expect(layerBits(validateQuantConfig({ weightBits: 8 }), 'x', pos)?.weightBits).toBe(7);
    expect(layerBits(validateQuantConfig({ weightBits: 4, ...overridden }), 'fc', pos)?.weightBits).toBe(7);
    expect(layerBits(validateQuantConfig({ weightBits: 4 }), 'x', pos)?.weightBits).toBe(4);
    for (const target of ['ort-cpu-vnni', 'ort-web', 'smallest']) {
      expect(layerBits(validateQuantConfig({ weightBits: 8, target }), 'x', pos)?.weightBits).toBe(8);
      expect(layerBits(validateQuantConfig({ weightBits: 4, target, ...overridden }), 'fc', pos)?.weightBits).toBe(8);
    }
    expect(portableWeightBits('ort-cpu', 8, 8)).toBe(7);
    expect(portableWeightBits('ort-cpu', 3, 8)).toBe(3);
    // narrower or float inputs cannot saturate: the full range stays
    expect(portableWeightBits('ort-cpu', 8, 4)).toBe(8);
    expect(portableWeightBits('ort-cpu', 8, 32)).toBe(8);
    expect(layerBits(validateQuantConfig({ weightBits: 4, activationBits: 4 }), 'last', { first: false, last: true })).toEqual({ weightBits: 8, activationBits: 4 });
    expect(layerBits(validateQuantConfig({ weightBits: 8, activationBits: 32 }), 'x', pos)?.weightBits).toBe(8);
  });
});
