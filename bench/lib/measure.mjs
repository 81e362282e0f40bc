// Timing several runners of one case fairly on a shared, noisy machine: each warms up, its run
// count is set from its own speed (a time budget, clamped), and the timed calls are interleaved
// in rounds so that a burst of outside load hits every runner alike.

/**
 * @typedef {{ id: string, call: () => (void|Promise<void>), prepare?: () => void }} Runner
 *   prepare() runs before every call, outside the timed region (e.g. rewriting the input).
 * @param {Runner[]} runners
 * @param {{ budgetMs: number, rounds: number, minRuns: number, maxRuns: number, warmupMs: number }} opts
 * @returns {Promise<Map<string, { samples: number[] } | { error: string }>>}
 */
export async function measureInterleaved(runners, opts) {
  const out = new Map();
  const live = [];
  for (const r of runners) {
    try {
      const est = await warmup(r, opts.warmupMs);
      const runs = Math.max(opts.minRuns, Math.min(opts.maxRuns, Math.round(opts.budgetMs / Math.max(est, 1e-4))));
      live.push({ r, runs, samples: [] });
    } catch (e) {
      out.set(r.id, { error: errorText(e) });
    }
  }
  for (let round = 0; round < opts.rounds; round++) {
    for (const entry of live) {
      if (entry.error) continue;
      const target = Math.round((entry.runs * (round + 1)) / opts.rounds);
      try {
        while (entry.samples.length < target) entry.samples.push(await timeOne(entry.r));
      } catch (e) {
        entry.error = errorText(e);
      }
    }
  }
  for (const e of live) out.set(e.r.id, e.error ? { error: e.error } : { samples: e.samples });
  return out;
}

async function timeOne(r) {
  r.prepare?.();
  const t0 = performance.now();
  const p = r.call();
  if (p) await p;
  return performance.now() - t0;
}

/** Untimed calls for about `ms` (at least 3, at most 200); returns the median time of the last calls. */
async function warmup(r, ms) {
  const times = [];
  const start = performance.now();
  while (times.length < 3 || (times.length < 200 && performance.now() - start < ms)) times.push(await timeOne(r));
  const tail = times.slice(Math.floor(times.length / 2)).sort((a, b) => a - b);
  return tail[Math.floor(tail.length / 2)];
}

export function errorText(e) {
  const msg = e instanceof Error ? `${e.name === "Error" ? "" : `${e.name}: `}${e.message}` : String(e);
  return msg.split("\n")[0].slice(0, 300);
}
