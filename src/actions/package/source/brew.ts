/** Homebrew taps: tapped when missing. (A tap's URL is not compared: `brew tap` keeps the first.) */
import { shQuote } from '../../../script/quote.js';
import { onChanged, packageSourceChangedFlag } from '../common.js';
import { mutation } from '../../../script/check.js';
import { section, type SourceScript } from './types.js';

export const brewSource: SourceScript = (name, opts, ctx) => {
  const b = section(name, opts, 'brew', ctx.packager);
  const tap = shQuote(b.tap);
  return `if ! brew tap | grep -qxF ${tap}; then ${mutation(ctx, `brew tap ${tap}${b.url ? ` ${shQuote(b.url)}` : ''}`, shQuote(`tap ${b.tap}`))}; ${onChanged(packageSourceChangedFlag)}; fi`;
};
