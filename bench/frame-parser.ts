/**
 * Unit benchmark of the batch output parser: one frame of 8..64 MB pushed in
 * 64 KiB chunks (as SSH delivers it). Linear parsing keeps the time per MB flat.
 * Run: npx tsx bench/frame-parser.ts
 */
import { FrameParser } from '../src/operation/batch.js';

for (const mb of [8, 16, 32, 64]) {
  const body = Buffer.alloc(mb * 1024 * 1024, 0x61);
  const all = Buffer.concat([Buffer.from(`\n@@PALLET:n a0 0 ${body.length} 0 0\n`), body]);
  const times: number[] = [];
  for (let run = 0; run < 3; run++) {
    let got = 0;
    const p = new FrameParser('n', (f) => (got += f.out.length));
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < all.length; i += 65536) p.push(all.subarray(i, i + 65536));
    p.finish();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (got !== body.length) throw new Error('frame lost');
  }
  times.sort((a, b) => a - b);
  console.log(`${mb} MB frame: median ${times[1]!.toFixed(0)} ms`);
}
