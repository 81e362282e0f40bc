// Entry point of the component's core module: the kernel ABI of index.ts plus the typed control
// calls of wit/kernels.wit (interface qedge:kernels/engine). The build (host/build/component.ts)
// renames these exports to their canonical-ABI names, e.g. engineLoadWeights ->
// "qedge:kernels/engine@0.1.0#load-weights". The plain core module (index.ts) stays import-free;
// this one imports the canonical resource constructor, which the component itself provides.
//
// Memory: a bump heap from __heap_base up. cabi_realloc (the canonical ABI's allocator for list
// arguments) takes from the top; load-weights keeps its list where it landed (one copy, no
// second one), write releases its temporary list after copying it.
export { run, heapBase, features, selftest } from "./index";

// Bump this when op codes or parameter layouts change incompatibly.
const ABI_VERSION: u32 = 1;
const ALIGN: usize = 16;

const ERR_OUT_OF_MEMORY: u8 = 0;
const ERR_OUT_OF_BOUNDS: u8 = 1;
const ERR_INVALID_STATE: u8 = 2;

// "0.1.0" as UTF-8; test/component checks it against package.json.
const VERSION = memory.data<u8>([0x30, 0x2e, 0x31, 0x2e, 0x30]);
const VERSION_LEN: usize = 5;

// Return area for results that do not fit one core value (canonical ABI "retptr"). The host
// lifts it before the next call, so one static area suffices.
const RET: usize = memory.data(16, 8);

// Weights handles: slot k holds (address, size); the resource representation is k + 1.
const MAX_WEIGHTS: i32 = 16;
const SLOTS: usize = memory.data(MAX_WEIGHTS * 12, 4); // address, size, in-use

@external("[export]qedge:kernels/engine@0.1.0", "[resource-new]weights")
declare function weightsResourceNew(rep: i32): i32;

let heapTop: usize = 0;

@inline function alignUp(n: usize): usize {
  return (n + ALIGN - 1) & ~(ALIGN - 1);
}

function heapStart(): usize {
  return alignUp(__heap_base);
}

function top(): usize {
  if (heapTop == 0) heapTop = heapStart();
  return heapTop;
}

// Grow linear memory so that [0, end) exists. False if the memory cannot grow that far.
function ensureMemory(end: usize): bool {
  const have = (<usize>memory.size()) << 16;
  if (end <= have) return true;
  const pages = <i32>((end - have + 0xffff) >>> 16);
  return memory.grow(pages) >= 0;
}

// Allocate `size` bytes at the heap top (16-aligned), or 0 if memory cannot grow.
function bumpAlloc(size: usize): usize {
  const at = top();
  const end = alignUp(at + size);
  if (end < at || !ensureMemory(end)) return 0;
  heapTop = end;
  return at;
}

/** Canonical-ABI allocator. Lists passed into the engine are allocated here just before the call. */
export function cabi_realloc(oldPtr: usize, oldSize: usize, align: usize, newSize: usize): usize {
  if (oldPtr != 0 && alignUp(oldPtr + oldSize) == heapTop && newSize >= oldSize) {
    // Growing the most recent block: extend it in place.
    const end = alignUp(oldPtr + newSize);
    if (!ensureMemory(end)) unreachable();
    heapTop = end;
    return oldPtr;
  }
  const p = bumpAlloc(newSize);
  if (p == 0 && newSize != 0) unreachable(); // the canonical ABI has no way to report it
  if (oldPtr != 0) memory.copy(p, oldPtr, min(oldSize, newSize));
  return p;
}

// result<T, error-code>: discriminant byte, then the payload at T's alignment (4 for u32 and
// lists; 1 when T is empty, as for write).
function resultErr(code: u8, payloadOffset: usize = 4): usize {
  store<u8>(RET, 1);
  store<u8>(RET + payloadOffset, code);
  return RET;
}

function resultOkU32(v: u32): usize {
  store<u8>(RET, 0);
  store<u32>(RET, v, 4);
  return RET;
}

function slotOf(rep: i32): usize {
  if (rep < 1 || rep > MAX_WEIGHTS) unreachable();
  const s = SLOTS + <usize>(rep - 1) * 12;
  if (load<u32>(s, 8) == 0) unreachable();
  return s;
}

export function engineVersion(): usize {
  store<u32>(RET, <u32>VERSION);
  store<u32>(RET, <u32>VERSION_LEN, 4);
  return RET;
}

export function engineAbiVersion(): u32 {
  return ABI_VERSION;
}

export function engineMemorySize(): u64 {
  return (<u64>memory.size()) << 16;
}

/** load-weights(image): the list was just placed at the heap top by cabi_realloc; keep it there. */
export function engineLoadWeights(ptr: usize, len: usize): usize {
  let rep: i32 = 0;
  for (let k = 0; k < MAX_WEIGHTS; k++) {
    if (load<u32>(SLOTS + <usize>k * 12, 8) == 0) { rep = k + 1; break; }
  }
  if (rep == 0) return resultErr(ERR_INVALID_STATE);
  let at = ptr;
  if (len == 0) {
    at = top(); // no list was allocated for an empty image
  } else if (alignUp(ptr + len) != top()) {
    // Not the block cabi_realloc just handed out: keep a copy at the top instead.
    at = bumpAlloc(len);
    if (at == 0) return resultErr(ERR_OUT_OF_MEMORY);
    memory.copy(at, ptr, len);
  }
  const s = SLOTS + <usize>(rep - 1) * 12;
  store<u32>(s, <u32>at);
  store<u32>(s, <u32>len, 4);
  store<u32>(s, 1, 8);
  return resultOkU32(<u32>weightsResourceNew(rep));
}

export function weightsAddress(rep: i32): u32 {
  return load<u32>(slotOf(rep));
}

export function weightsSize(rep: i32): u32 {
  return load<u32>(slotOf(rep), 4);
}

/** Destructor of a dropped handle: the slot is reused, the memory stays (see the WIT). */
export function weightsDrop(rep: i32): void {
  store<u32>(slotOf(rep), 0, 8);
}

export function engineSetupArena(rep: i32, bytes: u32): usize {
  const s = slotOf(rep);
  const after = alignUp(<usize>load<u32>(s) + <usize>load<u32>(s, 4));
  if (after != top()) return resultErr(ERR_INVALID_STATE);
  const at = bumpAlloc(<usize>bytes);
  if (at == 0 && bytes != 0) return resultErr(ERR_OUT_OF_MEMORY);
  return resultOkU32(<u32>after);
}

// Is [addr, addr + len) inside memory reserved before a call's own list (which starts at `limit`)?
function reserved(addr: usize, len: usize, limit: usize): bool {
  const end = addr + len;
  return addr >= heapStart() && end >= addr && end <= limit;
}

export function engineWrite(addr: usize, ptr: usize, len: usize): usize {
  if (len == 0) { store<u8>(RET, 0); return RET; }
  // The list is the most recent allocation: everything below it was reserved before this call.
  if (!reserved(addr, len, ptr)) {
    if (alignUp(ptr + len) == heapTop) heapTop = ptr;
    return resultErr(ERR_OUT_OF_BOUNDS, 1);
  }
  memory.copy(addr, ptr, len);
  if (alignUp(ptr + len) == heapTop) heapTop = ptr; // release the temporary list
  store<u8>(RET, 0);
  return RET;
}

export function engineRead(addr: usize, len: usize): usize {
  if (!reserved(addr, len, top())) return resultErr(ERR_OUT_OF_BOUNDS);
  // The result list points straight at the data: the canonical ABI copies it out.
  store<u8>(RET, 0);
  store<u32>(RET, <u32>addr, 4);
  store<u32>(RET, <u32>len, 8);
  return RET;
}
