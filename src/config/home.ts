import { homedir } from 'node:os';
import { join } from 'node:path';

/** `~/.pallet`, or `PALLET_HOME`. (A module of its own: the image loader, src/boot/load.ts, needs only this.) */
export function palletHome(): string {
  return process.env.PALLET_HOME ?? join(homedir(), '.pallet');
}
