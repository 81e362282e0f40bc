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

// Strassen layout (fc_strassen.ts: one level of Strassen's algorithm, seven half-size products).
// For batches, in and out that split evenly (batches % FC_STRASSEN_ROWS, in % FC_STRASSEN_DEPTH
// and out % FC_STRASSEN_OUT all 0) and are large enough that the halved loops still pay
// (FC_STRASSEN_MIN_*). With h = in / 2 and B[k][n] = w[n][k], the weights
// are seven sum blocks T0..T6 of h x out/2, each in the pair layout above (int16, h/2 pairs):
//   T0 = B11 + B22, T1 = B11, T2 = B12 - B22, T3 = B21 - B11, T4 = B22, T5 = B11 + B12, T6 = B21 + B22
// ordered [group g of FC_GROUP channels][product i][pair q][channel][k % 2], so one group's seven
// blocks are consecutive: 7/4 the bytes of the pair layout.
export const FC_STRASSEN_ROWS = 2 * FC_TILE_M;
export const FC_STRASSEN_DEPTH = 16;
export const FC_STRASSEN_OUT = 2 * FC_GROUP;
// Measured (simd, same process, Strassen / pair layout): depth 256 and 64+ outputs 0.92-0.94x
// (256^3, 32x256x256, 8x512x512, 64x1024x64); depth 128: 0.98x; depth 64: 1.04-1.06x (the
// halved loops cost more than the eighth they save); 32 outputs: 0.99x. Scalar: 0.85-0.93x.
export const FC_STRASSEN_MIN_BATCHES = FC_STRASSEN_ROWS;
export const FC_STRASSEN_MIN_DEPTH = 256;
export const FC_STRASSEN_MIN_OUT = 64;
