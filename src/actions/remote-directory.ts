/**
 * `remoteDirectory`: unpack an archive (a URL, a controller file or a node file) into a directory on
 * the node; the archive is kept in the state root and an unchanged archive is not unpacked again.
 */
import * as z from 'zod';
import { defineAction, withChangeFlag } from '../plan/action.js';
import { currentSession, withContext } from '../plan/session.js';
import type { ChangeOptions } from '../plan/types.js';
import { shQuote } from '../script/quote.js';
import { ensureAttrs } from '../script/fs.js';
import { validate } from '../core/validate.js';
import { checkPath } from './arguments.js';
import { directory } from './file.js';
import { remoteFile } from './remote-file.js';

export interface RemoteDirectoryOptions extends ChangeOptions {
  url?: string;
  localFile?: string;
  remoteFile?: string;
  md5?: string;
  /** `tar` (default; compression detected), `unzip`. */
  unpack?: 'tar' | 'unzip';
  /** Leading path components to drop from the archive (tar; default 1, as the original). */
  stripComponents?: number;
  /** Only these members of the archive. */
  extractFiles?: string[];
  owner?: string;
  group?: string;
  /** Apply owner and group to everything unpacked (default true). */
  recursive?: boolean;
}

interface UnpackArgs {
  path: string;
  archive: string;
  opts: RemoteDirectoryOptions;
}

/** The last step of `remoteDirectory`: unpack the fetched archive unless it is the one unpacked last time. */
const unpackArchive = defineAction<[path: string, archive: string, opts: RemoteDirectoryOptions], UnpackArgs>({
  name: 'remoteDirectory',
  execution: 'in-sequence',
  parse: (path, archive, opts) => ({
    path: checkPath('remoteDirectory', path),
    archive: checkPath('remoteDirectory', archive),
    opts,
  }),
  summary: ([a]) => `remoteDirectory ${a?.path ?? ''}`,
  script: ([a], ctx) => {
    const { path, archive, opts } = a!;
    const d = shQuote(path);
    const ar = shQuote(archive);
    const files = (opts.extractFiles ?? []).map(shQuote).join(' ');
    const unpack =
      opts.unpack === 'unzip'
        ? `(cd ${d} && unzip -o -q ${ar} ${files})`
        : `tar -x -f ${ar} -C ${d} --strip-components=${opts.stripComponents ?? 1} ${files}`;
    const unpackStep = ctx.check
      ? `  pallet_would ${shQuote(`unpack ${archive} into ${path}`)}`
      : [`  ${unpack} || exit 1`, `  printf '%s\\n' "$pallet_new" > ${d}/.pallet.directory.md5 || exit 1`].join('\n');
    const lines = [
      // In check mode the archive may not be there yet (the remoteFile before this one would fetch it).
      ctx.check
        ? `if [ ! -f ${ar} ]; then pallet_new='(the archive is not there yet)'; else pallet_new=$(md5sum < ${ar} | cut -d' ' -f1) || exit 1; fi`
        : `pallet_new=$(md5sum < ${ar} | cut -d' ' -f1) || exit 1`,
      `if [ "$(cat ${d}/.pallet.directory.md5 2>/dev/null)" != "$pallet_new" ]; then`,
      unpackStep,
      '  pallet_changed',
      'fi',
    ];
    if (opts.recursive !== false)
      lines.push(
        ensureAttrs(
          d,
          {
            ...(opts.owner ? { owner: opts.owner } : {}),
            ...(opts.group ? { group: opts.group } : {}),
            recursive: true,
          },
          ctx,
        ),
      );
    return { script: lines.join('\n'), changes: 'reported', checked: true };
  },
});

/**
 * Unpack an archive (from a URL, a controller file or a file on the node) into
 * a directory. The archive is kept in the state root; an unchanged archive is
 * not unpacked again.
 *
 * @example
 * ```ts
 * remoteDirectory('/opt/app', { url: 'https://example.org/app-1.2.tgz', owner: 'app' });
 * ```
 */
export function remoteDirectory(path: string, opts: RemoteDirectoryOptions): void {
  return withContext('remoteDirectory', () => {
    const { flagOnChanged, ...given } = opts;
    withChangeFlag('remoteDirectory', flagOnChanged, () => unpackInto(path, given));
  });
}

function unpackInto(path: string, opts: RemoteDirectoryOptions): void {
  const o = validate(
    z
      .strictObject({
        url: z.string().optional(),
        localFile: z.string().optional(),
        remoteFile: z.string().optional(),
        md5: z.string().optional(),
        unpack: z.enum(['tar', 'unzip']).optional(),
        stripComponents: z.number().int().nonnegative().optional(),
        extractFiles: z.array(z.string()).optional(),
        owner: z.string().optional(),
        group: z.string().optional(),
        recursive: z.boolean().optional(),
      })
      .refine((x) => [x.url, x.localFile, x.remoteFile].filter((v) => v !== undefined).length === 1, {
        message: 'give exactly one of url, localFile, remoteFile',
      }),
    opts,
    `remoteDirectory '${path}'`,
  ) as RemoteDirectoryOptions;
  const s = currentSession('remoteDirectory');
  const root = s.stateRoot;
  const archive = `${root}/archives${path.startsWith('/') ? path : `/${path}`}.archive`;
  directory(path, { ...(o.owner ? { owner: o.owner } : {}), ...(o.group ? { group: o.group } : {}), recursive: false });
  directory(archive.slice(0, archive.lastIndexOf('/')), { mode: '0700' });
  remoteFile(archive, {
    ...(o.url ? { url: o.url } : {}),
    ...(o.localFile ? { localFile: o.localFile } : {}),
    ...(o.remoteFile ? { remoteFile: o.remoteFile } : {}),
    ...(o.md5 ? { md5: o.md5 } : {}),
    noVersioning: true,
    mode: '0600',
  });
  unpackArchive(path, archive, o);
}
