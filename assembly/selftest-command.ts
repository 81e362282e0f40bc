// A WASI (preview1) command that runs the kernel self-test (selftest.ts) and exits 0 when every
// operator matches its expected output, 1 otherwise. The build wraps it with jco's preview1
// command adapter into dist/qedge-selftest*.component.wasm, runnable with `jco run` or
// `wasmtime run`. It imports only fd_write and proc_exit.
import { features } from "./index";
import {
  selftestRun, selftestCheckCount, selftestName, selftestNameLength,
  selftestFailedByte, selftestFailedGot, selftestFailedWant,
} from "./selftest";

@external("wasi_snapshot_preview1", "fd_write")
declare function fdWrite(fd: i32, iovs: usize, iovsLen: i32, written: usize): i32;

@external("wasi_snapshot_preview1", "proc_exit")
declare function procExit(code: i32): void;

const STDOUT = 1;
const STDERR = 2;
const BUF_SIZE: i32 = 256;
const BUF: usize = memory.data(BUF_SIZE);
const IOV: usize = memory.data(16, 4);
let len: i32 = 0;

// ASCII text only (string literals are UTF-16 in memory; fd_write wants bytes).
function text(s: string): void {
  for (let i = 0; i < s.length && len < BUF_SIZE; i++) store<u8>(BUF + <usize>(len++), <u8>s.charCodeAt(i));
}

function bytes(p: usize, n: i32): void {
  for (let i = 0; i < n && len < BUF_SIZE; i++) store<u8>(BUF + <usize>(len++), load<u8>(p + <usize>i));
}

function num(v: i32): void {
  if (v < 0) { text("-"); v = -v; }
  let div = 1;
  while (v / div >= 10) div *= 10;
  for (; div > 0 && len < BUF_SIZE; div /= 10) store<u8>(BUF + <usize>(len++), <u8>(48 + (v / div) % 10));
}

function flush(fd: i32): void {
  text("\n");
  store<u32>(IOV, <u32>BUF);
  store<u32>(IOV, <u32>len, 4);
  fdWrite(fd, IOV, 1, IOV + 8);
  len = 0;
}

function buildName(): string {
  const f = features();
  return (f & 2) != 0 ? "relaxed" : (f & 1) != 0 ? "simd" : "scalar";
}

export function _start(): void {
  const failed = selftestRun();
  const checks = selftestCheckCount();
  if (failed == 0) {
    text("qedge selftest ("); text(buildName()); text("): "); num(checks); text(" operators match the reference outputs");
    flush(STDOUT);
    procExit(0);
  }
  text("qedge selftest ("); text(buildName()); text("): FAILED ");
  if (failed < 0) {
    text("(the self-test graph does not fit this module's memory)");
  } else {
    text("check "); num(failed); text(" of "); num(checks); text(", ");
    bytes(selftestName(failed), selftestNameLength(failed));
    text(": output byte "); num(selftestFailedByte());
    text(" is "); num(selftestFailedGot()); text(", expected "); num(selftestFailedWant());
  }
  flush(STDERR);
  procExit(1);
}
