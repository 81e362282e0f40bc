// Packed weight layouts of FULLY_CONNECTED, shared by the kernel and the host prepare step.
// Valid TypeScript and AssemblyScript (integer constants only). The host picks one per op:
//
// Row layout (batches < FC_BATCHED_MIN: one input row at a time, a matrix-vector product).
// The [out, in] int8 weights are stored in groups of FC_ROWS output rows. Within a group the
// input axis is cut into chunks of FC_CHUNK values, and each chunk holds FC_ROWS runs of
// FC_CHUNK bytes, one per row:
//   byte offset of w[r][k] = ((g * chunks + c) * FC_ROWS + (r % FC_ROWS)) * FC_CHUNK + (k % FC_CHUNK)
//   with g = r / FC_ROWS, c = k / FC_CHUNK, chunks = ceil(in / FC_CHUNK).
// Rows past `out` and inputs past `in` are zero. A SIMD pass then reads one 16-byte vector per
// row per chunk from consecutive addresses.
export const FC_ROWS = 4;
export const FC_CHUNK = 16;

// Pair layout (batches >= FC_BATCHED_MIN: tiles of FC_TILE_M input rows x FC_GROUP outputs).
// The weights are widened to int16 here, once at load (twice the bytes of the row layout: each
// weight feeds every input row, and a widening load per use would cost ~10% of the throughput).
// Output channels in groups of FC_GROUP (8); the input axis as pairs of consecutive k, with
// pairs = roundup(in, 4) / 2 (an even count). Each pair of a group is 16 int16 values:
// channel 0..7, each as [w[c][2q], w[c][2q + 1]]:
//   int16 index of w[r][k] = ((g * pairs + q) * FC_GROUP + (r % FC_GROUP)) * 2 + (k % 2)
//   with g = r / FC_GROUP, q = k / 2. Channels past `out` and inputs past `in` are zero.
// i32x4.dot_i16x8_s of a splat input pair (x[2q], x[2q+1]) with one half of a block gives four
// channels' partial sums in four lanes: no horizontal sums.
export const FC_GROUP = 8;
export const FC_TILE_M = 4;
export const FC_BATCHED_MIN = 3;
