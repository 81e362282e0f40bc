// Arena planning: give every activation buffer an offset in one block so that buffers whose
// lifetimes overlap never overlap in memory. Greedy by size, as TFLite Micro's
// GreedyMemoryPlanner does: place the largest buffers first, each at the lowest offset where
// it fits between the buffers already placed that are alive at the same time.

export interface PlanBuffer {
  /** Bytes needed. */
  size: number;
  /** First and last operator index (inclusive) during which the buffer must hold its data. */
  first: number;
  last: number;
}

export interface ArenaPlan {
  /** Offset of each buffer, in the order given. */
  offsets: number[];
  /** Arena size in bytes (a multiple of the alignment). */
  size: number;
}

const alignUp = (n: number, a: number) => Math.ceil(n / a) * a;

export function planArena(buffers: readonly PlanBuffer[], align = 16): ArenaPlan {
  const order = buffers.map((_, i) => i).sort((a, b) =>
    buffers[b].size - buffers[a].size || buffers[a].first - buffers[b].first || a - b);
  const offsets = new Array<number>(buffers.length).fill(0);
  const placed: number[] = [];
  let size = 0;
  for (const i of order) {
    const b = buffers[i];
    const need = alignUp(Math.max(b.size, 1), align);
    // Buffers alive at the same time as b, by offset.
    const live = placed
      .filter((j) => buffers[j].first <= b.last && b.first <= buffers[j].last)
      .sort((x, y) => offsets[x] - offsets[y]);
    let candidate = 0;
    for (const j of live) {
      if (offsets[j] >= candidate + need) break;
      candidate = Math.max(candidate, alignUp(offsets[j] + buffers[j].size, align));
    }
    offsets[i] = candidate;
    placed.push(i);
    size = Math.max(size, candidate + need);
  }
  return { offsets, size };
}

/** Check a plan: no two buffers alive at the same time overlap. Returns a description of the first clash. */
export function findOverlap(buffers: readonly PlanBuffer[], plan: ArenaPlan): string | null {
  for (let i = 0; i < buffers.length; i++) {
    for (let j = i + 1; j < buffers.length; j++) {
      const a = buffers[i], b = buffers[j];
      const timeOverlap = a.first <= b.last && b.first <= a.last;
      const memOverlap = plan.offsets[i] < plan.offsets[j] + b.size && plan.offsets[j] < plan.offsets[i] + a.size;
      if (timeOverlap && memOverlap && a.size > 0 && b.size > 0) return `buffers ${i} and ${j} overlap`;
    }
  }
  return null;
}
