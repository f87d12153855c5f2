import * as tf from '@tensorflow/tfjs';
import { attrFloat, attrInt } from './attrs.js';
import { plainValue, type HeldValue, type OpContext, type OpSpec } from './types.js';

/** MatMul (numpy semantics: 1-D promotion, batch broadcasting) and Gemm. */

function matMul(ctx: OpContext): HeldValue[] {
  let a = ctx.plain(0);
  let b = ctx.plain(1);
  const aVec = a.rank === 1;
  const bVec = b.rank === 1;
  if (aVec) a = tf.reshape(a, [1, a.shape[0]]);
  if (bVec) b = tf.reshape(b, [b.shape[0], 1]);
  let y: tf.Tensor;
  if (b.rank === 2 && a.rank > 2) {
    // one big 2-D product instead of a batched one
    const lead = a.shape.slice(0, -1);
    y = tf.reshape(tf.matMul(tf.reshape(a, [-1, a.shape[a.rank - 1]]) as tf.Tensor2D, b as tf.Tensor2D), [...lead, b.shape[1] as number]);
  } else if (a.rank === 2 && b.rank === 2) {
    y = tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D);
  } else {
    const batchA = a.shape.slice(0, -2);
    const batchB = b.shape.slice(0, -2);
    const rank = Math.max(batchA.length, batchB.length);
    const padA = [...new Array(rank - batchA.length).fill(1), ...batchA];
    const padB = [...new Array(rank - batchB.length).fill(1), ...batchB];
    const batch = padA.map((d, i) => Math.max(d, padB[i]));
    a = tf.broadcastTo(tf.reshape(a, [...padA, ...a.shape.slice(-2)]), [...batch, ...a.shape.slice(-2)]);
    b = tf.broadcastTo(tf.reshape(b, [...padB, ...b.shape.slice(-2)]), [...batch, ...b.shape.slice(-2)]);
    y = tf.matMul(a, b);
  }
  if (aVec) y = tf.squeeze(y, [y.rank - 2]);
  if (bVec) y = tf.squeeze(y, [y.rank - 1]);
  return [plainValue(y)];
}

function gemm(ctx: OpContext): HeldValue[] {
  const node = ctx.node;
  const transposeA = attrInt(node, 'transA', 0) === 1;
  const transposeB = attrInt(node, 'transB', 0) === 1;
  const alpha = attrFloat(node, 'alpha', 1);
  const beta = attrFloat(node, 'beta', 1);
  const a = ctx.plain(0) as tf.Tensor2D;
  const b = ctx.plain(1) as tf.Tensor2D;
  const c = ctx.has(2) && beta !== 0 ? ctx.plain(2) : undefined;
  // not tf.fused.matMul with a bias: tfjs 4.22 wasm adds the bias wrongly when transposeB is set
  let y: tf.Tensor = tf.matMul(a, b, transposeA, transposeB);
  if (alpha !== 1) y = tf.mul(y, tf.scalar(alpha));
  if (c) y = tf.add(y, beta === 1 ? c : tf.mul(c, tf.scalar(beta)));
  return [plainValue(y)];
}

export const MATMUL_OPS: Record<string, OpSpec> = {
  MatMul: { run: matMul },
  Gemm: { run: gemm },
};
