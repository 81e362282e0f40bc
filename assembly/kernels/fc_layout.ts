// Packed weight layout of FULLY_CONNECTED, shared by the kernel and the host prepare step.
// Valid TypeScript and AssemblyScript (integer constants only).
//
// The [out, in] int8 weights are stored in groups of FC_ROWS output rows. Within a group the
// input axis is cut into chunks of FC_CHUNK values, and each chunk holds FC_ROWS runs of
// FC_CHUNK bytes, one per row:
//   byte offset of w[r][k] = ((g * chunks + c) * FC_ROWS + (r % FC_ROWS)) * FC_CHUNK + (k % FC_CHUNK)
//   with g = r / FC_ROWS, c = k / FC_CHUNK, chunks = ceil(in / FC_CHUNK).
// Rows past `out` and inputs past `in` are zero. A SIMD pass then reads one 16-byte vector per
// row per chunk from consecutive addresses.
export const FC_ROWS = 4;
export const FC_CHUNK = 16;
