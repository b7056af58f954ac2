/** Slicing a fleet across controllers (`lift --slice k/n`): a stable, even split by node id. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sliceOf } from '../../src/operation/targets.js';

test('sliceOf is FNV-1a of the id modulo the count: stable, in range, and even enough', () => {
  // FNV-1a 32-bit test vectors: "" = 0x811c9dc5, "a" = 0xe40c292c, "foobar" = 0xbf9cf968.
  assert.equal(sliceOf('', 0x100000000 - 1), 0x811c9dc5 % (0x100000000 - 1));
  assert.equal(sliceOf('a', 1000), 0xe40c292c % 1000);
  assert.equal(sliceOf('foobar', 7), 0xbf9cf968 % 7);
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 4000; i++) counts[sliceOf(`web${i}.example.org`, 4)]!++;
  assert.ok(
    counts.every((c) => c > 850 && c < 1150),
    counts.join(', '),
  );
  assert.equal(sliceOf('héllo', 5), sliceOf('héllo', 5));
});
