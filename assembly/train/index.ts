// The f32 training module: forward/backward kernels, losses and optimizer steps, exported as
// plain pointer functions (the host lays out all buffers; see host/train/kernels.ts).
// Built twice from this one source (asconfig.json targets train-scalar, train-simd); both
// builds produce identical bytes (see vec.ts).
import "../abort";
export { denseForward, denseBackward } from "./dense";
export { conv2dForward, conv2dBackward } from "./conv";
export { depthwiseForward, depthwiseBackward } from "./depthwise";
export { avgPoolForward, avgPoolBackward, maxPoolForward, maxPoolBackward } from "./pool";
export { reluForward, reluBackward } from "./activation";
export { softmaxCrossEntropy, meanSquaredError } from "./loss";
export { sgdStep, adamStep } from "./optim";

// First free byte after static data: the host allocates from here.
export function heapBase(): usize {
  return __heap_base;
}

// Bit 0: built with SIMD.
export function features(): i32 {
  return ASC_FEATURE_SIMD ? 1 : 0;
}
