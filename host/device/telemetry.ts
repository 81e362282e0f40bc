// Inference latency percentiles over a sliding window of recent runs.

export interface LatencySummary {
  count: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
}

export class LatencyStats {
  private ring: number[] = [];
  private next = 0;
  private total = 0;

  constructor(private readonly capacity: number) {}

  add(ms: number): void {
    this.total++;
    if (this.ring.length < this.capacity) this.ring.push(ms);
    else this.ring[this.next] = ms;
    this.next = (this.next + 1) % this.capacity;
  }

  /** Nearest-rank percentiles of the window; `count` is the lifetime number of runs. */
  summary(): LatencySummary {
    if (this.ring.length === 0) return { count: this.total, p50: null, p90: null, p99: null, max: null };
    const s = [...this.ring].sort((a, b) => a - b);
    const rank = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
    const r = (x: number) => Math.round(x * 1000) / 1000;
    return { count: this.total, p50: r(rank(50)), p90: r(rank(90)), p99: r(rank(99)), max: r(s[s.length - 1]) };
  }
}
