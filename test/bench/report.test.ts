// Verdicts and ratios of the peer benchmark (bench/lib/report.mjs): hand-derived cases.
import { describe, expect, it } from "vitest";
// @ts-expect-error plain JS module without type declarations
import { arenaVerdict, formatTable, latencyVerdict, speedupVerdict, TARGETS } from "../../bench/lib/report.mjs";

describe("latencyVerdict (qedge / TFLite-wasm <= 0.8)", () => {
  it("meets the target at or under 0.8x", () => {
    expect(latencyVerdict(0.08, 0.1)).toMatchObject({ met: true });
    expect(latencyVerdict(0.08, 0.1).ratio).toBeCloseTo(0.8, 12);
    expect(latencyVerdict(0.05, 0.1)).toMatchObject({ met: true, ratio: 0.5 });
  });

  it("says by how much a miss misses", () => {
    // 0.2 / 0.1 = 2.0x; needed 0.8x: 2.5x faster, i.e. 60% less time
    const v = latencyVerdict(0.2, 0.1);
    expect(v.met).toBe(false);
    expect(v.ratio).toBe(2);
    expect(v.verdict).toMatch(/MISSED by 1\.20x: need 2\.50x faster \(-60% time\)/);
  });

  it("is n/a without both numbers", () => {
    expect(latencyVerdict(undefined, 0.1)).toMatchObject({ ratio: null, met: null, verdict: "n/a" });
    expect(latencyVerdict(0.1, 0)).toMatchObject({ met: null });
  });
});

describe("speedupVerdict (ORT-web time / qedge time >= 1.2)", () => {
  it("meets at 1.2x and above", () => {
    expect(speedupVerdict(1, 1.2)).toMatchObject({ met: true, ratio: 1.2 });
    expect(speedupVerdict(0.5, 1.5)).toMatchObject({ met: true, ratio: 3 });
  });

  it("says how much faster qedge must get", () => {
    // peer 0.6 ms, ours 1 ms: ratio 0.6; need 1.2 / 0.6 = 2x
    const v = speedupVerdict(1, 0.6);
    expect(v.met).toBe(false);
    expect(v.verdict).toMatch(/MISSED by 0\.60x: need 2\.00x faster/);
  });
});

describe("arenaVerdict (qedge arena <= TFLite Micro arena)", () => {
  it("meets when equal or smaller, else gives the excess", () => {
    expect(arenaVerdict(3424, 3424)).toMatchObject({ met: true, ratio: 1 });
    const v = arenaVerdict(30000, 24000);
    expect(v).toMatchObject({ met: false, ratio: 1.25 });
    expect(v.verdict).toBe("MISSED by 6,000 B (+25%)");
  });

  it("is n/a without a TFLM figure", () => {
    expect(arenaVerdict(100, null)).toMatchObject({ met: null, verdict: "n/a" });
  });
});

it("targets are the issue's numbers", () => {
  expect(TARGETS).toEqual({ modelLatencyRatio: 0.8, opSpeedup: 1.2, arenaRatio: 1 });
});

it("formatTable aligns columns, numbers to the right", () => {
  const t = formatTable(["name", "ms"], [["a", "1.5"], ["long name", "12.25"]]);
  expect(t.split("\n")).toEqual([
    "name       ms",
    "---------  -----",
    "a            1.5",
    "long name  12.25",
  ]);
});
