// Kernel self-test: replays the graph of selftest-vectors.ts (encoded by the host, expected outputs
// from the TypeScript references) operator by operator and compares every output byte.
// selftest() traps on the first mismatch, so any WebAssembly engine can run it: a runtime that
// reports traps (e.g. `wizer --init-func selftest`, which is wasmtime) turns it into a pass/fail.
// It overwrites memory from ST_BASE up: run it on a fresh instance, not one holding a model.
import { run } from "./index";
import {
  ST_BASE, ST_END, ST_BLOB, ST_SEGMENTS, ST_SEGMENT_COUNT, ST_CHECKS, ST_CHECK_COUNT, ST_CHECK_WORDS,
} from "./selftest-vectors";

// Where the first mismatch was found, for selftestReport (the WASI command prints it).
let failedByte: i32 = -1;
let failedGot: i32 = 0;
let failedWant: i32 = 0;

@inline function checkWord(k: i32, w: i32): usize {
  return <usize>load<u32>(ST_CHECKS + ((<usize>(k * ST_CHECK_WORDS + w)) << 2));
}

/**
 * Run the self-test; returns 0 if every check passed, else the 1-based index of the first
 * failing check (-1 if the module's static data reaches ST_BASE or memory cannot grow).
 */
export function selftestRun(): i32 {
  if (__heap_base > ST_BASE) return -1;
  const have = (<usize>memory.size()) << 16;
  if (ST_END > have && memory.grow(<i32>((ST_END - have + 0xffff) >>> 16)) < 0) return -1;
  for (let s = 0; s < ST_SEGMENT_COUNT; s++) {
    const seg = ST_SEGMENTS + (<usize>(s * 3) << 2);
    memory.copy(<usize>load<u32>(seg), ST_BLOB + <usize>load<u32>(seg, 4), <usize>load<u32>(seg, 8));
  }
  for (let k = 0; k < ST_CHECK_COUNT; k++) {
    run(checkWord(k, 0), <i32>checkWord(k, 1));
    const out = checkWord(k, 2);
    const want = ST_BLOB + checkWord(k, 3);
    const n = <i32>checkWord(k, 4);
    for (let i = 0; i < n; i++) {
      const a = load<i8>(out + <usize>i), b = load<i8>(want + <usize>i);
      if (a != b) {
        failedByte = i; failedGot = a; failedWant = b;
        return k + 1;
      }
    }
  }
  return 0;
}

/** Number of checks (operators compared). */
export function selftestCheckCount(): i32 {
  return ST_CHECK_COUNT;
}

/** Operator name of check k (1-based) as UTF-8: address; length from selftestNameLength. */
export function selftestName(k: i32): usize {
  return ST_BLOB + checkWord(k - 1, 5);
}

export function selftestNameLength(k: i32): i32 {
  return <i32>checkWord(k - 1, 6);
}

/** First differing byte of the failed check and its got / wanted values. */
export function selftestFailedByte(): i32 { return failedByte; }
export function selftestFailedGot(): i32 { return failedGot; }
export function selftestFailedWant(): i32 { return failedWant; }

/** Trap unless every check passes (the core module's exported `selftest`). */
export function selftest(): void {
  if (selftestRun() != 0) unreachable();
}
