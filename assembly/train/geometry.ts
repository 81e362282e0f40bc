// Layer geometry is passed as a block of i32 words (pointer g) rather than a dozen arguments.
// The host (host/train/kernels.ts) writes these blocks; output sizes and SAME padding are
// computed there with TFLite's rules, so the kernels only see explicit numbers.
//
// Convolution / depthwise block:
//   0 N, 1 H, 2 W, 3 C (input channels), 4 OH, 5 OW, 6 O (conv: output channels;
//   depthwise: channel multiplier M), 7 KH, 8 KW, 9 strideH, 10 strideW, 11 padTop, 12 padLeft
// Pooling block:
//   0 N, 1 H, 2 W, 3 C, 4 OH, 5 OW, 6 KH, 7 KW, 8 strideH, 9 strideW, 10 padTop, 11 padLeft

// @ts-ignore: decorator
@inline
export function word(g: usize, k: i32): i32 {
  return load<i32>(g + (<usize>k << 2));
}

// @ts-ignore: decorator
@inline
export function imax(a: i32, b: i32): i32 { return a > b ? a : b; }
// @ts-ignore: decorator
@inline
export function imin(a: i32, b: i32): i32 { return a < b ? a : b; }

// Byte offset of element i of an f32 array.
// @ts-ignore: decorator
@inline
export function f4(i: i32): usize { return <usize>i << 2; }
