// mapLimit: order of results, the concurrency bound, and rejections.
import { strict as assert } from 'node:assert';
import { mapLimit } from '../../lib/core/pool.js';

/** Resolves after the current turn of the event loop, so calls overlap as they would over a network. */
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('core pool: mapLimit', () => {
  const rows: { items: number; limit: number; peak: number }[] = [
    { items: 10, limit: 3, peak: 3 },
    { items: 2, limit: 8, peak: 2 },
    { items: 5, limit: 1, peak: 1 },
    { items: 4, limit: 0, peak: 1 },
    { items: 0, limit: 4, peak: 0 },
  ];
  for (const { items, limit, peak } of rows) {
    it(`${items} item(s) at limit ${limit}: results in order, at most ${peak} at once`, async () => {
      let running = 0;
      let seen = 0;
      const out = await mapLimit(
        Array.from({ length: items }, (_, i) => i),
        limit,
        async (n, i) => {
          running++;
          seen = Math.max(seen, running);
          // Later items finish first: the order of results must still follow the items.
          for (let k = 0; k < items - n; k++) await tick();
          running--;
          return `${n}:${i}`;
        },
      );
      assert.deepEqual(out, Array.from({ length: items }, (_, i) => `${i}:${i}`));
      assert.equal(seen, peak);
    });
  }

  it('rejects with the first failure', async () => {
    await assert.rejects(
      mapLimit([1, 2, 3], 2, async (n) => {
        await tick();
        if (n === 2) throw new Error('two');
        return n;
      }),
      /two/,
    );
  });
});
