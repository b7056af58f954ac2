/**
 * Filesystems (Pallet's `pallet.crate.filesystem`): make a filesystem on a
 * device that has none, and mount it (now, and in /etc/fstab).
 *
 * A provisioning tool must never format a disk that holds data: `makeFilesystem`
 * asks `blkid -p` (a low-level probe of the device itself, not a cache) first;
 * any signature at all (a filesystem, a partition table, RAID, LVM) means it is
 * left alone, and a filesystem of another type than the one asked for is an
 * error, never a reformat.
 */
import * as z from 'zod';
import { directory } from '../actions/file.js';
import { lineInFile } from '../actions/line.js';
import { defineAction } from '../plan/action.js';
import { withContext, currentSession } from '../plan/session.js';
import type { ChangeOptions } from '../plan/types.js';
import { mutation } from '../script/check.js';
import { shQuote } from '../script/quote.js';
import { validate } from '../core/validate.js';

const devicePath = z
  .string()
  .regex(/^\/[^\s\n]*$/, 'an absolute path without blanks (a device such as /dev/vdb, or an image file)');
const fsType = z.string().regex(/^[a-z0-9]+$/, 'a filesystem type such as ext4, xfs, vfat');
const mountOption = z.string().regex(/^[A-Za-z0-9_=.:/-]+$/, 'one mount option (no blank or comma)');

interface MkfsArgs {
  device: string;
  type: string;
  options: string[];
}

/**
 * Make a `type` filesystem (default ext4) on `device`, only when the device has no signature at all. A device
 * with the same filesystem is left as it is (no change); anything else found on it fails the action, naming
 * what was found: it is never formatted over.
 *
 * @example
 * ```ts
 * makeFilesystem('/dev/vdb', { type: 'ext4' });
 * ```
 */
export const makeFilesystem = defineAction<
  [device: string, opts?: { type?: string; options?: string[] } & ChangeOptions],
  MkfsArgs
>({
  name: 'makeFilesystem',
  execution: 'in-sequence',
  optionsParam: 1,
  parse: (device, opts = {}) => {
    const o = validate(
      z.strictObject({ type: fsType.optional(), options: z.array(z.string().regex(/^[^\n]+$/)).optional() }),
      opts,
      `makeFilesystem '${device}'`,
    );
    return { device: validate(devicePath, device, 'makeFilesystem'), type: o.type ?? 'ext4', options: o.options ?? [] };
  },
  summary: ([a]) => `makeFilesystem ${a?.device ?? ''} ${a?.type ?? ''}`,
  script: ([a], c) => {
    const d = shQuote(a!.device);
    const t = shQuote(a!.type);
    return {
      script: [
        `[ -e ${d} ] || { echo ${shQuote(`makeFilesystem: ${a!.device} does not exist`)} >&2; exit 1; }`,
        `command -v blkid >/dev/null 2>&1 || { echo 'makeFilesystem: no blkid on this node (util-linux): cannot tell whether the device is empty, so it is not formatted' >&2; exit 1; }`,
        `command -v mkfs.${a!.type} >/dev/null 2>&1 || { echo ${shQuote(`makeFilesystem: no mkfs.${a!.type} on this node`)} >&2; exit 1; }`,
        // -p: probe the device itself; exit 2 means no signature of any kind.
        `pallet_found=$(blkid -p -o export ${d} 2>&1); pallet_rc=$?`,
        'if [ "$pallet_rc" -eq 2 ]; then',
        `  ${mutation(c, `mkfs.${a!.type} ${a!.options.map(shQuote).join(' ')} ${d} >&2`, shQuote(`make a ${a!.type} filesystem on ${a!.device}`))}`,
        '  pallet_changed',
        'elif [ "$pallet_rc" -eq 0 ]; then',
        `  pallet_have=$(printf '%s\\n' "$pallet_found" | sed -n 's/^TYPE=//p')`,
        `  [ "$pallet_have" = ${t} ] || { echo ${shQuote(`makeFilesystem: ${a!.device} is not empty (it holds: `)}"$(printf '%s' "$pallet_found" | tr '\\n' ' ')"${shQuote(`); it is not formatted over`)} >&2; exit 1; }`,
        'else',
        `  echo ${shQuote(`makeFilesystem: cannot probe ${a!.device}: `)}"$pallet_found" >&2; exit 1`,
        'fi',
      ].join('\n'),
      changes: 'reported',
      checked: true,
    };
  },
});

interface MountArgs {
  device: string;
  dir: string;
  type?: string;
  options: string[];
}

const mountNow = defineAction<
  [device: string, dir: string, opts: { type?: string; options: string[] } & ChangeOptions],
  MountArgs
>({
  name: 'mount',
  execution: 'in-sequence',
  optionsParam: 2,
  parse: (device, dir, opts) => ({ device, dir, ...(opts.type ? { type: opts.type } : {}), options: opts.options }),
  summary: ([a]) => `mount ${a?.device ?? ''} ${a?.dir ?? ''}`,
  script: ([a], c) => {
    const dir = shQuote(a!.dir);
    const cmd = `mount ${a!.type ? `-t ${shQuote(a!.type)} ` : ''}${a!.options.length ? `-o ${shQuote(a!.options.join(','))} ` : ''}${shQuote(a!.device)} ${dir}`;
    return {
      script: [
        `if ! awk -v p="$(readlink -f -- ${dir})" '$5 == p { f = 1 } END { exit !f }' /proc/self/mountinfo; then`,
        `  ${mutation(c, `${cmd} >&2`, shQuote(`mount ${a!.device} on ${a!.dir}`))}`,
        '  pallet_changed',
        'fi',
      ].join('\n'),
      changes: 'reported',
      checked: true,
    };
  },
});

export interface MountOptions extends ChangeOptions {
  /** Filesystem type (default: as mount detects it; `auto` in fstab). */
  type?: string;
  /** Mount options (default `defaults`). */
  options?: string[];
  /** Keep an /etc/fstab line for it (default true), so it is mounted at boot. */
  fstab?: boolean;
  /** fsck order in fstab (default 2; 0 for none). */
  pass?: 0 | 1 | 2;
  /** Mount it now when it is not mounted (default true). */
  now?: boolean;
}

/** Escape a literal for a POSIX ERE. */
function ereLiteral(s: string): string {
  return s.replace(/[.[\]()*+?{}|^$\\]/g, '\\$&');
}

/**
 * Mount `device` (a device, `UUID=...`, `LABEL=...`) on `dir`: the directory is made, an /etc/fstab line for the
 * device is added or corrected (one line per device; others are kept), and it is mounted now when it is not.
 *
 * @example
 * ```ts
 * mount('/dev/vdb', '/srv/data', { type: 'ext4', options: ['noatime'] });
 * ```
 */
export function mount(device: string, dir: string, opts: MountOptions = {}): void {
  return withContext('mount', () => {
    currentSession('mount');
    const what = `mount '${device}'`;
    validate(
      z
        .string()
        .regex(
          /^(\/\S+|UUID=[A-Za-z0-9-]+|LABEL=[A-Za-z0-9_.-]+|PARTUUID=[A-Za-z0-9-]+)$/,
          'a device path, UUID=, LABEL= or PARTUUID=',
        ),
      device,
      what,
    );
    validate(z.string().regex(/^\/[^\s]*$/, 'an absolute path without blanks'), dir, what);
    const type = opts.type === undefined ? undefined : validate(fsType, opts.type, what);
    const options = (opts.options ?? []).map((o) => validate(mountOption, o, what));
    const flag = opts.flagOnChanged === undefined ? {} : { flagOnChanged: opts.flagOnChanged };
    directory(dir, { recursive: false });
    if (opts.fstab !== false) {
      const line = `${device} ${dir} ${type ?? 'auto'} ${options.length ? options.join(',') : 'defaults'} 0 ${opts.pass ?? 2}`;
      lineInFile('/etc/fstab', { regexp: `^${ereLiteral(device)}[ \t]`, line, create: true, mode: '0644', ...flag });
    }
    if (opts.now !== false) mountNow(device, dir, { ...(type ? { type } : {}), options, ...flag });
  });
}
