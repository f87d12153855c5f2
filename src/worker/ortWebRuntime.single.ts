/** Single-file build: no onnxruntime-web (its 14 MB of wasm would be inlined into the page). */
import { LocalQuantError } from '../core/errors.js';
import type { OrtLike } from '../core/verify/ortLike.js';

export const ORT_WEB_AVAILABLE = false;

export async function ortWebRuntime(): Promise<OrtLike> {
  throw new LocalQuantError('BAD_CONFIG', 'The single-file build does not carry onnxruntime-web (14 MB of wasm).', 'Open the served app (npm run dev, or a build) to check exports in onnxruntime-web.');
}
