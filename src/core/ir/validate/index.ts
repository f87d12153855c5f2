export { validateGraph, checkDeclaredInput } from './validateGraph.js';
export { checkPreparedShapes } from './preparedShapes.js';
export { checkedElementCount, checkFinite } from './tensorChecks.js';
export { MAX_DIM, MAX_TENSOR_ELEMENTS } from './limits.js';
