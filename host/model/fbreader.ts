// Bounds-checked access to flatbuffer tables, on top of the `flatbuffers` runtime's ByteBuffer.
// The generated flatbuffers accessors trust the file: an offset pointing outside the buffer reads
// `undefined` bytes and yields garbage. A model file is untrusted input, so every table, vtable,
// field, vector and string is range-checked here before it is read, and failures become a
// ModelFormatError naming the field path. A work budget bounds the total number of decoded
// elements, so a hostile file whose vectors all alias one huge vector cannot make parsing
// quadratic.
import { ByteBuffer } from "flatbuffers";
import { ModelFormatError } from "../errors.js";

/** A validated table: position, its vtable, and the path used in error messages. */
export interface Table {
  readonly pos: number;
  readonly vt: number;
  readonly vtSize: number;
  readonly objSize: number;
  readonly path: string;
}

/** A validated vector: element start and element count. */
export interface Vec {
  readonly start: number;
  readonly length: number;
}

export class FbReader {
  readonly bb: ByteBuffer;
  readonly size: number;
  private budget: number;

  constructor(readonly bytes: Uint8Array) {
    this.bb = new ByteBuffer(bytes);
    this.size = bytes.length;
    // Legitimate files decode each element once; allow generous slack for shared strings.
    this.budget = 4 * bytes.length + 65536;
  }

  fail(path: string, detail: string): never {
    throw new ModelFormatError(path, detail);
  }

  /** Require bytes [pos, pos+len) to lie inside the file. */
  need(pos: number, len: number, path: string, what: string): void {
    if (!(Number.isSafeInteger(pos) && pos >= 0 && len >= 0 && pos + len <= this.size)) {
      this.fail(path, `${what} at byte ${pos} (${len} bytes) lies outside the ${this.size}-byte file`);
    }
  }

  /** Account for `n` decoded elements against the work budget. */
  spend(n: number, path: string): void {
    this.budget -= n;
    if (this.budget < 0) {
      this.fail(path, "the file decodes to far more data than it holds (overlapping or aliased vectors)");
    }
  }

  /** The root table (uoffset at byte 0). */
  root(path: string): Table {
    this.need(0, 4, path, "root offset");
    return this.table(this.bb.readUint32(0), path);
  }

  /** Validate the table at `pos`: soffset to its vtable, vtable size, inline object size. */
  table(pos: number, path: string): Table {
    this.need(pos, 4, path, "table");
    const vt = pos - this.bb.readInt32(pos);
    this.need(vt, 4, path, "vtable");
    const vtSize = this.bb.readUint16(vt);
    const objSize = this.bb.readUint16(vt + 2);
    if (vtSize < 4 || (vtSize & 1) !== 0) this.fail(path, `vtable size ${vtSize} is invalid`);
    this.need(vt, vtSize, path, "vtable");
    if (objSize < 4) this.fail(path, `table size ${objSize} is smaller than its vtable offset`);
    this.need(pos, objSize, path, "table");
    return { pos, vt, vtSize, objSize, path };
  }

  /** Absolute position of field `slot` holding `width` bytes, or 0 when the field is absent. */
  field(t: Table, slot: number, width: number): number {
    const vo = 4 + 2 * slot;
    if (vo + 2 > t.vtSize) return 0;
    const off = this.bb.readUint16(t.vt + vo);
    if (off === 0) return 0;
    if (off < 4 || off + width > t.objSize) {
      this.fail(`${t.path}`, `field in slot ${slot} at offset ${off} lies outside the table's ${t.objSize} bytes`);
    }
    return t.pos + off;
  }

  has(t: Table, slot: number): boolean {
    const vo = 4 + 2 * slot;
    return vo + 2 <= t.vtSize && this.bb.readUint16(t.vt + vo) !== 0;
  }

  u8(t: Table, slot: number, def = 0): number {
    const p = this.field(t, slot, 1);
    return p ? this.bb.readUint8(p) : def;
  }
  i8(t: Table, slot: number, def = 0): number {
    const p = this.field(t, slot, 1);
    return p ? this.bb.readInt8(p) : def;
  }
  bool(t: Table, slot: number, def = false): boolean {
    const p = this.field(t, slot, 1);
    return p ? this.bb.readUint8(p) !== 0 : def;
  }
  i32(t: Table, slot: number, def = 0): number {
    const p = this.field(t, slot, 4);
    return p ? this.bb.readInt32(p) : def;
  }
  u32(t: Table, slot: number, def = 0): number {
    const p = this.field(t, slot, 4);
    return p ? this.bb.readUint32(p) : def;
  }
  f32(t: Table, slot: number, def = 0): number {
    const p = this.field(t, slot, 4);
    return p ? this.bb.readFloat32(p) : def;
  }
  u64(t: Table, slot: number, def = 0n): bigint {
    const p = this.field(t, slot, 8);
    return p ? this.bb.readUint64(p) : def;
  }

  /** Target of the uoffset field in `slot`, or 0 when absent. */
  private indirect(t: Table, slot: number, path: string): number {
    const p = this.field(t, slot, 4);
    if (!p) return 0;
    const target = p + this.bb.readUint32(p);
    this.need(target, 4, path, "referenced object");
    return target;
  }

  /** Sub-table in `slot`, or null. */
  child(t: Table, slot: number, path: string): Table | null {
    const target = this.indirect(t, slot, path);
    return target ? this.table(target, path) : null;
  }

  /** Vector in `slot` whose elements are `elemSize` bytes, or null when absent. */
  vector(t: Table, slot: number, elemSize: number, path: string): Vec | null {
    const target = this.indirect(t, slot, path);
    if (!target) return null;
    const length = this.bb.readUint32(target);
    const start = target + 4;
    if (length * elemSize > this.size - start) {
      this.fail(path, `vector of ${length} elements (${elemSize} bytes each) runs past the end of the file`);
    }
    return { start, length };
  }

  /** The i-th table of a vector of tables. */
  tableAt(v: Vec, i: number, path: string): Table {
    const p = v.start + 4 * i;
    return this.table(p + this.bb.readUint32(p), path);
  }

  /** Vector of tables in `slot`; [] when absent. */
  tables(t: Table, slot: number, path: string): Table[] {
    const v = this.vector(t, slot, 4, path);
    if (!v) return [];
    this.spend(v.length, path);
    const out: Table[] = [];
    for (let i = 0; i < v.length; i++) out.push(this.tableAt(v, i, `${path}[${i}]`));
    return out;
  }

  /** String in `slot` (UTF-8, invalid sequences replaced), or null when absent. */
  string(t: Table, slot: number, path: string): string | null {
    const v = this.vector(t, slot, 1, path);
    if (!v) return null;
    this.spend(v.length, path);
    return new TextDecoder().decode(this.bytes.subarray(v.start, v.start + v.length));
  }

  int32s(t: Table, slot: number, path: string): number[] | null {
    const v = this.vector(t, slot, 4, path);
    if (!v) return null;
    this.spend(v.length, path);
    const out = new Array<number>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = this.bb.readInt32(v.start + 4 * i);
    return out;
  }

  float32s(t: Table, slot: number, path: string): number[] | null {
    const v = this.vector(t, slot, 4, path);
    if (!v) return null;
    this.spend(v.length, path);
    const out = new Array<number>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = this.bb.readFloat32(v.start + 4 * i);
    return out;
  }

  int64s(t: Table, slot: number, path: string): bigint[] | null {
    const v = this.vector(t, slot, 8, path);
    if (!v) return null;
    this.spend(v.length, path);
    const out = new Array<bigint>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = this.bb.readInt64(v.start + 8 * i);
    return out;
  }

  /** Byte vector in `slot` as a view into the file (no copy), or null when absent. */
  bytesView(t: Table, slot: number, path: string): Uint8Array | null {
    const v = this.vector(t, slot, 1, path);
    return v ? this.bytes.subarray(v.start, v.start + v.length) : null;
  }
}
