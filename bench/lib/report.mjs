// Targets, ratios, verdicts and the text table. Pure functions (tested in test/bench/).

/** Targets from project issue 3 (reported against, never asserted). */
export const TARGETS = {
  /** qedge latency / TFLite-wasm (SIMD) latency, per MLPerf Tiny model: at most this. */
  modelLatencyRatio: 0.8,
  /** ORT-web time / qedge time on GEMM and the models' conv shapes (throughput ratio): at least this. */
  opSpeedup: 1.2,
  /** qedge arena / TFLite Micro arena: at most this. */
  arenaRatio: 1.0,
};

/**
 * Smallest arena TFLite Micro ran each model with (bytes, 64-bit host, incl. its bookkeeping),
 * from /work/shared/notes/peers.md. Keyed by "<folder>/<file without .tflite>".
 */
export const TFLM_ARENA_BYTES = {
  "mlperf-tiny/ad01_int8": 3424,
  "mlperf-tiny/kws_ref_model": 23992,
  "mlperf-tiny/pretrainedResnet_quant": 55704,
  "mlperf-tiny/vww_96_int8": 103392,
  "extra/pretrainedResnet_large_int8": 133464,
  "extra/str_ww_ref_model": 16352,
  "extra/micro_speech_quantized": 7304,
  "extra/person_detect": 85016,
};

const pct = (x) => `${(x * 100).toFixed(0)}%`;
const times = (x) => `${x.toFixed(2)}x`;

/**
 * Latency target: ours / peer must be <= target. Returns { ratio, met, verdict }; when missed the
 * verdict says how much faster qedge must get.
 */
export function latencyVerdict(oursMs, peerMs, target = TARGETS.modelLatencyRatio) {
  if (!(oursMs > 0) || !(peerMs > 0)) return { ratio: null, met: null, verdict: "n/a" };
  const ratio = oursMs / peerMs;
  if (ratio <= target) return { ratio, met: true, verdict: `met (<= ${times(target)})` };
  const needSpeedup = ratio / target;
  return { ratio, met: false, verdict: `MISSED by ${times(ratio - target)}: need ${times(needSpeedup)} faster (-${pct(1 - 1 / needSpeedup)} time)` };
}

/** Throughput target: peer / ours must be >= target. */
export function speedupVerdict(oursMs, peerMs, target = TARGETS.opSpeedup) {
  if (!(oursMs > 0) || !(peerMs > 0)) return { ratio: null, met: null, verdict: "n/a" };
  const ratio = peerMs / oursMs;
  if (ratio >= target) return { ratio, met: true, verdict: `met (>= ${times(target)})` };
  const needSpeedup = target / ratio;
  return { ratio, met: false, verdict: `MISSED by ${times(target - ratio)}: need ${times(needSpeedup)} faster` };
}

/** Arena target: ours <= TFLM's. */
export function arenaVerdict(oursBytes, tflmBytes) {
  if (!(oursBytes >= 0) || !(tflmBytes > 0)) return { ratio: null, met: null, verdict: "n/a" };
  const ratio = oursBytes / tflmBytes;
  if (oursBytes <= tflmBytes) return { ratio, met: true, verdict: "met" };
  return { ratio, met: false, verdict: `MISSED by ${(oursBytes - tflmBytes).toLocaleString("en-US")} B (+${pct(ratio - 1)})` };
}

/** Milliseconds, compact: 3 significant digits below 100. */
export function ms(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return "-";
  if (v >= 100) return v.toFixed(0);
  return v.toPrecision(3);
}

export function ratio(v) {
  return v === null || v === undefined ? "-" : `${v.toFixed(2)}x`;
}

/** A left-aligned text table; numeric-looking cells are right-aligned. */
export function formatTable(headers, rows) {
  const cells = [headers, ...rows].map((r) => r.map((c) => (c === null || c === undefined ? "-" : String(c))));
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  const numeric = /^[-+]?[\d.,]+(x|%| B)?$|^-$/;
  const line = (r) => r.map((c, i) => (numeric.test(c) && i > 0 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ").trimEnd();
  return [line(cells[0]), widths.map((w) => "-".repeat(w)).join("  "), ...cells.slice(1).map(line)].join("\n");
}
