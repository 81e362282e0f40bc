// Rollouts end to end on each broker (aedes 3.1.1, Mosquitto 3.1.1 and 5): every device must
// end on a model that verifies on its flash, every deploy must be answered, and the rollout
// report must account for every device.
import { afterEach, describe, expect, it } from "vitest";
import { BROKER_CASES, NO_MOSQUITTO, skipCase, startFleet, type FleetHarness } from "./harness.js";

for (const c of BROKER_CASES) {
  describe.skipIf(skipCase(c))(`rollout on ${c.name}`, () => {
    if (skipCase(c)) console.warn(NO_MOSQUITTO);
    let h: FleetHarness | null = null;
    afterEach(async () => { await h?.close(); h = null; });

    it("a 200-device rollout completes in growing waves", async () => {
      h = await startFleet(c, { devices: 200 });
      const art = await h.artifact("kws", "1");
      const rep = await h.rollout(art, { canary: 1, waveGrowth: 2 });
      expect(rep.phase).toBe("completed");
      expect(rep.totals.targets).toBe(200);
      expect(rep.totals.succeeded).toBe(200);
      // canary 1, then 2, 4, ..., 64, and the remaining 73 (1+2+4+8+16+32+64 = 127)
      expect(rep.waves.map((w) => w.size)).toEqual([1, 2, 4, 8, 16, 32, 64, 73]);
      for (const b of h.fleet.boards) {
        expect(await h.verifiedModel(b.id)).toBe(art.signed.manifest.sha256);
        expect(b.agent!.activeModel?.sha256).toBe(art.signed.manifest.sha256);
      }
    });
  });
}
