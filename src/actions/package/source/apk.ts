/**
 * Alpine sources: each source is its own entry in /etc/apk/repositories, a
 * `# pallet source <name>` line followed by the repository line; a changed
 * URL replaces the entry in place. Other lines are kept as they are.
 */
import { editFile } from '../../../script/fs.js';
import { shQuote } from '../../../script/quote.js';
import { onChanged, packageSourceChangedFlag } from '../common.js';
import { section, type SourceScript } from './types.js';

/** Replace the line after the marker (or append marker and line); values come from the environment, not awk's -v (no escapes). */
const replaceEntry = [
  'BEGIN { m = ENVIRON["PALLET_MARK"]; u = ENVIRON["PALLET_URL"] }',
  'skip { skip = 0; next }',
  '$0 == m { print; print u; done = 1; skip = 1; next }',
  '{ print }',
  'END { if (!done) { print m; print u } }',
].join('\n');

export const apkSource: SourceScript = (name, opts, ctx) => {
  const a = section(name, opts, 'apk', ctx.packager);
  return [
    `PALLET_MARK=${shQuote(`# pallet source ${name}`)} PALLET_URL=${shQuote(a.url)}; export PALLET_MARK PALLET_URL`,
    editFile(
      '/etc/apk/repositories',
      `packageSource ${name}`,
      `awk ${shQuote(replaceEntry)}`,
      onChanged(packageSourceChangedFlag),
      ctx,
    ),
  ].join('\n');
};
