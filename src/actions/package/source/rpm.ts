/** yum, dnf and zypper sources: the whole `.repo` file, and its key imported into rpm when the file changed or the key is missing. */
import { shQuote } from '../../../script/quote.js';
import { block, fileWithContent, packageSourceChangedFlag } from '../common.js';
import { section, type SourceScript } from './types.js';

export const rpmSource: SourceScript = (name, opts, ctx) => {
  const y = section(name, opts, 'yum', ctx.packager);
  const repo = [
    `[${name}]`,
    `name=${name}`,
    ...(y.url ? [`baseurl=${y.url}`] : []),
    ...(y.mirrorlist ? [`mirrorlist=${y.mirrorlist}`] : []),
    `gpgcheck=${y.gpgkey ? 1 : 0}`,
    ...(y.gpgkey ? [`gpgkey=${y.gpgkey}`] : []),
    ...(y.priority !== undefined ? [`priority=${y.priority}`] : []),
    `enabled=${y.enabled === false ? 0 : 1}`,
  ].join('\n');
  const dir = ctx.packager === 'zypper' ? '/etc/zypp/repos.d' : '/etc/yum.repos.d';
  const lines = [block(fileWithContent(`${dir}/${name}.repo`, `${repo}\n`, packageSourceChangedFlag, ctx))];
  // Importing a key already imported is no change, so check mode skips it.
  if (y.gpgkey && !ctx.check) lines.push(`rpm --import ${shQuote(y.gpgkey)} || exit 1`);
  return lines.join('\n');
};
