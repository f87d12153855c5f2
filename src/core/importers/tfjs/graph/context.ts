import { LocalQuantError } from '../../../errors.js';
import type { Node } from '../../../ir/types.js';
import type { GraphBuilder, SrcTensor } from '../builder.js';
import { Attrs, type TfNode } from './tfNode.js';

/** What an op translator gets. */
export interface OpContext {
  b: GraphBuilder;
  node: TfNode;
  attrs: Attrs;
  /** Value/node name hint (the TF node name). */
  hint: string;
  /** IR Conv/Gemm nodes made without a bias, by output value, that a following BiasAdd/Add may complete. */
  biasFusable: Map<string, Node>;
  /** How many TF inputs read each TF tensor (a value read more than once is not fused into). */
  consumers: Map<string, number>;
}

export type OpTranslator = (ctx: OpContext, inputs: SrcTensor[]) => SrcTensor[];

export function unsupportedOp(ctx: OpContext, what: string, hint = 'Re-export the model without it, or file an issue with the model attached.'): LocalQuantError {
  return new LocalQuantError('UNSUPPORTED_OP', `Node '${ctx.node.name}' (${ctx.node.op}) ${what}.`, hint);
}

/** The host value of a constant input, or an error naming what needs to be constant. */
export function constInput(ctx: OpContext, t: SrcTensor | undefined, what: string) {
  if (!t?.constValue) throw unsupportedOp(ctx, `takes its ${what} from a computed value; only constants are supported there`);
  return t.constValue;
}

export function newAttrs(node: TfNode): Attrs {
  return new Attrs(node);
}
