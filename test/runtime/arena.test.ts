import { describe, expect, it } from "vitest";
import { planArena, findOverlap, type PlanBuffer } from "../../host/plan/arena.js";
import { rng, randInt } from "../helpers/kernel-harness.js";

describe("arena planner (greedy by size)", () => {
  it("reuses memory of buffers whose lifetimes do not overlap", () => {
    // A chain a -> b -> c: a and c never live together, so c can reuse a's bytes.
    const bufs: PlanBuffer[] = [
      { size: 100, first: 0, last: 1 },
      { size: 50, first: 1, last: 2 },
      { size: 100, first: 2, last: 3 },
    ];
    const plan = planArena(bufs);
    expect(findOverlap(bufs, plan)).toBeNull();
    // 112 (100 aligned to 16) + 64 (50 aligned): the two 100-byte buffers share an offset.
    expect(plan.size).toBe(112 + 64);
    expect(plan.offsets[0]).toBe(plan.offsets[2]);
  });

  it("never overlaps live buffers and never exceeds the sum of sizes (random lifetimes)", () => {
    const r = rng(7);
    for (let trial = 0; trial < 200; trial++) {
      const n = randInt(r, 1, 30);
      const bufs: PlanBuffer[] = [];
      for (let i = 0; i < n; i++) {
        const first = randInt(r, 0, 20);
        bufs.push({ size: randInt(r, 1, 5000), first, last: first + randInt(r, 0, 6) });
      }
      const plan = planArena(bufs);
      expect(findOverlap(bufs, plan)).toBeNull();
      const sum = bufs.reduce((s, b) => s + Math.ceil(b.size / 16) * 16, 0);
      expect(plan.size).toBeLessThanOrEqual(sum);
      // Lower bound: the bytes alive at the busiest moment.
      let peak = 0;
      for (let t = 0; t <= 26; t++) peak = Math.max(peak, bufs.filter((b) => b.first <= t && t <= b.last).reduce((s, b) => s + b.size, 0));
      expect(plan.size).toBeGreaterThanOrEqual(peak);
      for (const o of plan.offsets) expect(o % 16).toBe(0);
    }
  });
});
