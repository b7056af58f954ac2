/**
 * Arch sources: the whole `[name]` section of /etc/pacman.conf is managed (a
 * changed server or SigLevel replaces it in place; a new one is appended).
 */
import { editFile } from '../../../script/fs.js';
import { shQuote } from '../../../script/quote.js';
import { onChanged, packageSourceChangedFlag } from '../common.js';
import { section, type SourceScript } from './types.js';

/** Replace the section headed `$PALLET_HEAD` by `$PALLET_BODY` (or append it). */
const replaceSection = [
  'BEGIN { h = ENVIRON["PALLET_HEAD"]; b = ENVIRON["PALLET_BODY"] }',
  '/^[ \\t]*\\[/ { skip = 0 }',
  '$0 == h { print b; done = 1; skip = 1; next }',
  'skip { next }',
  '{ print }',
  'END { if (!done) { print ""; print b } }',
].join('\n');

export const pacmanSource: SourceScript = (name, opts, ctx) => {
  const p = section(name, opts, 'pacman', ctx.packager);
  const body = [`[${name}]`, ...(p.sigLevel ? [`SigLevel = ${p.sigLevel}`] : []), `Server = ${p.url}`].join('\n');
  return [
    `PALLET_HEAD=${shQuote(`[${name}]`)} PALLET_BODY=${shQuote(body)}; export PALLET_HEAD PALLET_BODY`,
    editFile(
      '/etc/pacman.conf',
      `packageSource ${name}`,
      `awk ${shQuote(replaceSection)}`,
      onChanged(packageSourceChangedFlag),
      ctx,
    ),
  ].join('\n');
};
