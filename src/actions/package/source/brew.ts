/** Homebrew taps: tapped when missing. (A tap's URL is not compared: `brew tap` keeps the first.) */
import { shQuote } from '../../../script/quote.js';
import { onChanged, packageSourceChangedFlag } from '../common.js';
import { section, type SourceScript } from './types.js';

export const brewSource: SourceScript = (name, opts, ctx) => {
  const b = section(name, opts, 'brew', ctx.packager);
  const tap = shQuote(b.tap);
  return `if ! brew tap | grep -qxF ${tap}; then brew tap ${tap}${b.url ? ` ${shQuote(b.url)}` : ''} || exit 1; ${onChanged(packageSourceChangedFlag)}; fi`;
};
