// Run single kernel blocks directly on a kernel build, for kernel unit tests.
// Usage:
//   const k = new KernelHarness("simd");
//   const x = k.putI8(Int8Array.of(...)); const y = k.alloc(n);
//   k.run(OP_X, [x, y, ...]); const out = k.readI8(y, n);
import { mulberry32 } from "../../host/util/random.js";
import { instantiateKernels, supportedBuilds, type KernelBuild, type KernelInstance } from "../../host/wasm/kernels.js";

export const BUILDS: KernelBuild[] = supportedBuilds();

export class KernelHarness {
  readonly k: KernelInstance;
  private next: number;
  constructor(public readonly build: KernelBuild) {
    this.k = instantiateKernels(build);
    this.next = (this.k.exports.heapBase() + 15) & ~15;
  }
  /** Allocate `bytes` (16-aligned) and return the address. */
  alloc(bytes: number, align = 16): number {
    const addr = (this.next + align - 1) & ~(align - 1);
    this.next = addr + bytes;
    const need = this.next + 1024 - this.k.memory.buffer.byteLength;
    if (need > 0) this.k.memory.grow(Math.ceil(need / 65536));
    return addr;
  }
  put(bytes: ArrayBufferView, align = 16): number {
    const addr = this.alloc(bytes.byteLength, align);
    new Uint8Array(this.k.memory.buffer, addr, bytes.byteLength)
      .set(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    return addr;
  }
  putI8(a: ArrayLike<number>): number { return this.put(Int8Array.from(a)); }
  putI16(a: ArrayLike<number>): number { return this.put(Int16Array.from(a)); }
  putI32(a: ArrayLike<number>): number { return this.put(Int32Array.from(a)); }
  putF32(a: ArrayLike<number>): number { return this.put(Float32Array.from(a)); }
  readI8(addr: number, n: number): Int8Array<ArrayBuffer> { return new Int8Array(this.k.memory.buffer, addr, n).slice(); }
  readI16(addr: number, n: number): Int16Array<ArrayBuffer> { return new Int16Array(this.k.memory.buffer, addr, n).slice(); }
  readI32(addr: number, n: number): Int32Array<ArrayBuffer> { return new Int32Array(this.k.memory.buffer, addr, n).slice(); }
  readF32(addr: number, n: number): Float32Array<ArrayBuffer> { return new Float32Array(this.k.memory.buffer, addr, n).slice(); }
  /** Write one block [kernel, n, ...params] and run it. */
  run(kernel: number, params: ArrayLike<number>): void {
    const block = this.putI32([kernel, params.length, ...Array.from(params)]);
    this.k.exports.run(block, 1);
  }
}

/** Deterministic PRNG (mulberry32) so failures reproduce. */
export const rng = mulberry32;
export function randInt(r: () => number, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}
export function randI8(r: () => number, n: number, lo = -128, hi = 127): Int8Array {
  const a = new Int8Array(n);
  for (let i = 0; i < n; i++) a[i] = randInt(r, lo, hi);
  return a;
}
