/**
 * What LocalQuant allows itself before it allocates anything a file declares. A browser tab has a few GiB
 * at most and the largest conv nets we target (224-512 px, 64-256 channels) stay far below these.
 */

/** Elements of any one tensor a file may declare (weights or one image's activation): 2^26, 256 MiB as float32. */
export const MAX_TENSOR_ELEMENTS = 2 ** 26;

/** Largest single dimension of a declared input (pixels or channels). */
export const MAX_DIM = 2 ** 14;

/**
 * Multiply-adds of one image's forward pass (convolutions and matrix products). ResNet-50 at 224 px needs
 * 4.1e9; 2^33 (8.6e9) is seconds per image on wasm, and synthesis runs hundreds of such passes.
 */
export const MAX_MACS_PER_IMAGE = 2 ** 33;

export const MIB = 1024 * 1024;

/**
 * Largest weight magnitude: sqrt(float32 max). Synthesis and adaptive rounding square activations (BN
 * statistics, second moments), so anything larger overflows float32 at once; trained weights are many
 * orders of magnitude smaller, so a value beyond it is a damaged file (a flipped exponent bit).
 */
export const MAX_WEIGHT_MAGNITUDE = 1.8e19;
