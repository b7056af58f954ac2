/**
 * Files and directories: `remoteFile` (content), `directory`, `file`.
 *
 * A managed file is replaced atomically: the new content is written beside the
 * target (a temporary file in the same directory), compared with the current
 * file, and renamed over it only when it differs, so an interrupted run never
 * leaves half a file. Owner, group and mode are re-applied when they drift.
 */
import { z } from 'zod';
import { defineAction } from '../plan/action.js';
import type { Deferred } from '../plan/types.js';
import { ensureAttrs, normaliseMode } from '../script/fs.js';
import { shQuote, writeBytes } from '../script/quote.js';
import { validate } from '../spec/spec.js';

const mode = z.union([z.string(), z.number()]).refine(
  (m) => {
    try {
      normaliseMode(m);
      return true;
    } catch {
      return false;
    }
  },
  { message: "expected an octal mode such as '0644'" },
);

const attrShape = {
  owner: z.string().optional(),
  group: z.string().optional(),
  mode: mode.optional(),
};

export interface RemoteFileOptions {
  /**
   * The file's content, exactly (bytes are preserved; nothing is expanded).
   * A function is evaluated at execution time (it may read node values).
   */
  content?: Deferred<string | Buffer>;
  owner?: string;
  group?: string;
  /** Octal mode, e.g. '0644'. New files default to 0644. */
  mode?: string | number;
  /** Set this flag on the target when the content changes (for `planWhen(targetFlag(...))`). */
  flagOnChanged?: string;
  /** `delete` removes the file. */
  action?: 'create' | 'delete';
}

const remoteFileOptions = z
  .strictObject({
    ...attrShape,
    content: z.union([z.string(), z.instanceof(Buffer)]).optional(),
    flagOnChanged: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'flag names are letters, digits, _ . -').optional(),
    action: z.enum(['create', 'delete']).optional(),
  })
  .refine((o) => o.action === 'delete' || o.content !== undefined, {
    message: 'give the content (content: ...) or action: "delete"',
  });

interface RemoteFileArgs {
  path: string;
  opts: RemoteFileOptions;
}

function checkPath(what: string, path: unknown): string {
  if (typeof path !== 'string' || path === '' || path.includes('\0')) {
    throw new Error(`${what}: the path must be a non-empty string`);
  }
  return path;
}

const modeStr = (m: string | number | undefined) => (m === undefined ? undefined : normaliseMode(m));

/**
 * Make the file at `path` have the given content, owner, group and mode.
 * Reports a change only when one of them differed.
 */
export const remoteFile = defineAction<[path: string, opts: RemoteFileOptions], RemoteFileArgs>({
  name: 'remoteFile',
  execution: 'in-sequence',
  parse: (path, opts) => ({
    path: checkPath('remoteFile', path),
    opts: validate(remoteFileOptions, opts, `remoteFile '${path}'`) as RemoteFileOptions,
  }),
  summary: ([a]) => `remoteFile ${a?.path ?? ''}`,
  script: ([a]) => {
    const { path, opts } = a!;
    const p = shQuote(path);
    if (opts.action === 'delete') {
      return { script: `if [ -e ${p} ] || [ -L ${p} ]; then rm -f ${p} || exit 1; pallet_changed; fi`, changes: 'reported' };
    }
    const flag = opts.flagOnChanged ? `pallet_set_flag ${shQuote(opts.flagOnChanged)}` : ':';
    const lines = [
      `pallet_p=${p}`,
      `pallet_t=$(mktemp "$(dirname -- "$pallet_p")/.pallet-new.XXXXXXXX") || { echo "remoteFile: cannot write in the directory of $pallet_p (does it exist?)" >&2; exit 1; }`,
      `trap 'rm -f "$pallet_t"' EXIT`,
      writeBytes((opts.content as string | Buffer | undefined) ?? '', '"$pallet_t"', 'exit 1'),
      `if [ -f "$pallet_p" ] && cmp -s "$pallet_t" "$pallet_p"; then`,
      `  rm -f "$pallet_t"`,
      `else`,
      `  if [ -e "$pallet_p" ]; then`,
      `    chmod "$(stat -c %a "$pallet_p")" "$pallet_t" && chown "$(stat -c %u:%g "$pallet_p")" "$pallet_t" || exit 1`,
      `  else`,
      `    chmod 644 "$pallet_t" || exit 1`,
      `  fi`,
      `  mv -f "$pallet_t" "$pallet_p" || exit 1`,
      `  pallet_changed`,
      `  ${flag}`,
      `fi`,
      ensureAttrs('"$pallet_p"', { owner: opts.owner, group: opts.group, mode: modeStr(opts.mode) }),
    ];
    return { script: lines.filter(Boolean).join('\n'), changes: 'reported' };
  },
});

export interface DirectoryOptions {
  action?: 'create' | 'delete';
  owner?: string;
  group?: string;
  mode?: string | number;
  /** Apply owner and group to everything inside (default true, as the original). */
  recursive?: boolean;
}

const directoryOptions = z.strictObject({
  ...attrShape,
  action: z.enum(['create', 'delete']).optional(),
  recursive: z.boolean().optional(),
});

interface PathArgs<O> {
  path: string;
  opts: O;
}

/** Make a directory exist (with parents) with the given owner, group and mode, or remove it. */
export const directory = defineAction<[path: string, opts?: DirectoryOptions], PathArgs<DirectoryOptions>>({
  name: 'directory',
  execution: 'in-sequence',
  parse: (path, opts = {}) => ({
    path: checkPath('directory', path),
    opts: validate(directoryOptions, opts, `directory '${path}'`) as DirectoryOptions,
  }),
  summary: ([a]) => `directory ${a?.path ?? ''}`,
  script: ([a]) => {
    const { path, opts } = a!;
    const p = shQuote(path);
    if (opts.action === 'delete') {
      return { script: `if [ -e ${p} ] || [ -L ${p} ]; then rm -rf ${p} || exit 1; pallet_changed; fi`, changes: 'reported' };
    }
    const lines = [
      `if [ ! -d ${p} ]; then mkdir -p ${p} || exit 1; pallet_changed; fi`,
      ensureAttrs(p, { owner: opts.owner, group: opts.group, mode: modeStr(opts.mode), recursive: opts.recursive ?? true }),
    ];
    return { script: lines.filter(Boolean).join('\n'), changes: 'reported' };
  },
});

export interface FileOptions {
  /** `create` (default): make sure it exists; `touch`: update its time (always a change); `delete`. */
  action?: 'create' | 'touch' | 'delete';
  owner?: string;
  group?: string;
  mode?: string | number;
}

const fileOptions = z.strictObject({ ...attrShape, action: z.enum(['create', 'touch', 'delete']).optional() });

/** Make an (empty if new) file exist with the given owner, group and mode, touch it, or remove it. */
export const file = defineAction<[path: string, opts?: FileOptions], PathArgs<FileOptions>>({
  name: 'file',
  execution: 'in-sequence',
  parse: (path, opts = {}) => ({
    path: checkPath('file', path),
    opts: validate(fileOptions, opts, `file '${path}'`) as FileOptions,
  }),
  summary: ([a]) => `file ${a?.path ?? ''}`,
  script: ([a]) => {
    const { path, opts } = a!;
    const p = shQuote(path);
    const action = opts.action ?? 'create';
    if (action === 'delete') {
      return { script: `if [ -e ${p} ] || [ -L ${p} ]; then rm -f ${p} || exit 1; pallet_changed; fi`, changes: 'reported' };
    }
    const create =
      action === 'touch'
        ? `touch ${p} || exit 1; pallet_changed`
        : `if [ ! -e ${p} ]; then touch ${p} || exit 1; pallet_changed; fi`;
    const lines = [create, ensureAttrs(p, { owner: opts.owner, group: opts.group, mode: modeStr(opts.mode) })];
    return { script: lines.filter(Boolean).join('\n'), changes: 'reported' };
  },
});
