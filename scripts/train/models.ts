/** The trainable model families by name, for the command lines. */
import { ghostNet } from './ghostnet.js';
import { mobileNetV2 } from './mobileNetV2.js';
import type { NetSpec } from './netSpec.js';

export const MODELS = { ghostnet: ghostNet, mobilenetv2: mobileNetV2 } as const;
export type ModelName = keyof typeof MODELS;

export function buildNet(model: string, width: number, dropout = 0.2): NetSpec {
  if (!(model in MODELS)) throw new Error(`unknown model ${model}; one of ${Object.keys(MODELS).join(', ')}`);
  return MODELS[model as ModelName](width, dropout);
}
