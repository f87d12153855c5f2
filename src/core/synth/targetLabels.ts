/**
 * Captions of class-conditional images for the app and reports: the class name when the model gives one,
 * else "class i". No tfjs here: the page imports it on the main thread.
 */
import type { TargetClass } from './progress.js';

export function targetClassLabel(t: TargetClass): string {
  return t.name ?? `class ${t.index}`;
}

/** One caption per image from the report's record (targets per image, names when the model gave them). */
export function targetLabels(cc: { targets: number[]; names?: string[] } | undefined, limit = Infinity): string[] | undefined {
  if (!cc) return undefined;
  return cc.targets.slice(0, limit).map((index) => targetClassLabel({ index, ...(cc.names?.[index] ? { name: cc.names[index] } : {}) }));
}
