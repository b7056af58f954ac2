/**
 * Files, directories, links, fifos and line edits: `directory`, `directories`,
 * `file`, `symbolicLink`, `fifo`, `sed`. Owner, group and mode are re-applied
 * only when they drift, so a second run changes nothing.
 */
import { posix } from 'node:path';
import * as z from 'zod';
import type { ChangeOptions } from '../plan/types.js';
import { defineAction } from '../plan/action.js';
import {
  ensureAttrs,
  installStaged,
  normaliseMode,
  onlyMode,
  removeStagedOnExit,
  resolveTarget,
  stageBeside,
  unlessFresh,
} from '../script/fs.js';
import { shQuote } from '../script/quote.js';
import { mutation, type CheckMode } from '../script/check.js';
import { validate } from '../core/validate.js';
import { checkPath, modeSchema } from './arguments.js';

const attrShape = {
  owner: z.string().optional(),
  group: z.string().optional(),
  mode: modeSchema.optional(),
};

const modeStr = (m: string | number | undefined) => (m === undefined ? undefined : normaliseMode(m));

export interface DirectoryOptions extends ChangeOptions {
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

/**
 * Make a directory exist (with parents) with the given owner, group and mode, or remove it.
 *
 * @example
 * ```ts
 * directory('/srv/app', { owner: 'app', mode: '0755' });
 * ```
 */
export const directory = defineAction<[path: string, opts?: DirectoryOptions], PathArgs<DirectoryOptions>>({
  name: 'directory',
  execution: 'in-sequence',
  optionsParam: 1,
  parse: (path, opts = {}) => ({
    path: checkPath('directory', path),
    opts: validate(directoryOptions, opts, `directory '${path}'`) as DirectoryOptions,
  }),
  summary: ([a]) => `directory ${a?.path ?? ''}`,
  script: ([a], ctx) => ({ script: directoryScript(a!.path, a!.opts, ctx), changes: 'reported', checked: true }),
});

export interface FileOptions extends ChangeOptions {
  /** `create` (default): make sure it exists; `touch`: update its time (always a change); `delete`. */
  action?: 'create' | 'touch' | 'delete';
  owner?: string;
  group?: string;
  mode?: string | number;
}

const fileOptions = z.strictObject({ ...attrShape, action: z.enum(['create', 'touch', 'delete']).optional() });

/**
 * Make an (empty if new) file exist with the given owner, group and mode, touch it, or remove it.
 *
 * @example
 * ```ts
 * file('/srv/app/.env', { owner: 'app', group: 'app', mode: '0600' });
 * file('/tmp/old-flag', { action: 'delete' });
 * ```
 */
export const file = defineAction<[path: string, opts?: FileOptions], PathArgs<FileOptions>>({
  name: 'file',
  execution: 'in-sequence',
  optionsParam: 1,
  parse: (path, opts = {}) => ({
    path: checkPath('file', path),
    opts: validate(fileOptions, opts, `file '${path}'`) as FileOptions,
  }),
  summary: ([a]) => `file ${a?.path ?? ''}`,
  script: ([a], ctx) => {
    const { path, opts } = a!;
    const action = opts.action ?? 'create';
    if (action === 'delete') {
      const p = shQuote(path);
      return {
        script: [
          `if [ -d ${p} ] && [ ! -L ${p} ]; then echo ${shQuote(`file ${path}: is a directory: pallet does not delete a directory as a file`)} >&2; exit 1; fi`,
          `if [ -e ${p} ] || [ -L ${p} ]; then ${mutation(ctx, `rm -f ${p}`, shQuote(`delete ${path}`))}; pallet_changed; fi`,
        ].join('\n'),
        changes: 'reported',
        checked: true,
      };
    }
    // Through a link, the file it resolves to is made and kept (as remoteFile does).
    const touch = mutation(ctx, 'touch "$pallet_p"', `"touch $pallet_p"`);
    const create =
      action === 'touch'
        ? `${touch}; pallet_changed`
        : `if [ ! -e "$pallet_p" ]; then ${mutation(ctx, 'touch "$pallet_p"', `"create $pallet_p"`)}; pallet_changed; fi`;
    const lines = [
      resolveTarget(path, 'file'),
      create,
      ensureAttrs('"$pallet_p"', { owner: opts.owner, group: opts.group, mode: modeStr(opts.mode) }, ctx),
    ];
    return { script: lines.filter(Boolean).join('\n'), changes: 'reported', checked: true };
  },
});

/**
 * `directory` for each path, in one action.
 *
 * @example
 * ```ts
 * directories(['/srv/app/log', '/srv/app/run'], { owner: 'app', mode: '0750' });
 * ```
 */
export const directories = defineAction<
  [paths: string[], opts?: DirectoryOptions],
  { paths: string[]; opts: DirectoryOptions }
>({
  name: 'directories',
  execution: 'in-sequence',
  optionsParam: 1,
  parse: (paths, opts = {}) => ({
    paths: validate(z.array(z.string().min(1)).min(1), paths, 'directories'),
    opts: validate(directoryOptions, opts, 'directories') as DirectoryOptions,
  }),
  summary: ([a]) => `directories ${a?.paths.join(' ') ?? ''}`,
  script: ([a], ctx) => ({
    script: a!.paths.map((path) => `{\n${directoryScript(path, a!.opts, ctx)}\n} || exit 1`).join('\n'),
    changes: 'reported',
    checked: true,
  }),
});

function directoryScript(path: string, opts: DirectoryOptions, c: CheckMode): string {
  const p = shQuote(path);
  if (opts.action === 'delete')
    return `if [ -e ${p} ] || [ -L ${p} ]; then ${mutation(c, `rm -rf ${p}`, shQuote(`delete directory ${path} and everything in it`))}; pallet_changed; fi`;
  const refuse = `if [ -e ${p} ] && [ ! -d ${p} ]; then echo ${shQuote(`directory ${path}: exists and is not a directory: pallet does not replace it`)} >&2; exit 1; fi`;
  const mode = onlyMode(opts, c);
  if (mode !== undefined) {
    // Only a mode: a new directory is made with it (mkdir -m, once its parent exists), so there is nothing to read
    // back. mkdir without -p fails on a directory that appeared meanwhile: then the mode is read as usual.
    const m = shQuote(normaliseMode(mode));
    return [
      refuse,
      'pallet_fresh=',
      `if [ ! -d ${p} ]; then { [ -d ${shQuote(posix.dirname(path))} ] || mkdir -p ${shQuote(posix.dirname(path))}; } && { mkdir -m ${m} ${p} && pallet_fresh=1 || [ -d ${p} ]; } || exit 1; pallet_changed; fi`,
      unlessFresh(ensureAttrs(p, { mode: modeStr(mode) }, c)),
    ].join('\n');
  }
  return [
    refuse,
    `if [ ! -d ${p} ]; then ${mutation(c, `mkdir -p ${p}`, shQuote(`create directory ${path}`))}; pallet_changed; fi`,
    ensureAttrs(
      p,
      { owner: opts.owner, group: opts.group, mode: modeStr(opts.mode), recursive: opts.recursive ?? true },
      c,
    ),
  ]
    .filter(Boolean)
    .join('\n');
}

export interface SymbolicLinkOptions extends ChangeOptions {
  action?: 'create' | 'delete';
  /** Replace a regular file at `name` (a directory, fifo, socket or device is never replaced). */
  force?: boolean;
}

/**
 * Make `name` a symbolic link to `from` (or remove it).
 *
 * @example
 * ```ts
 * symbolicLink('/srv/app/releases/v2', '/srv/app/current');
 * ```
 */
export const symbolicLink = defineAction<
  [from: string, name: string, opts?: SymbolicLinkOptions],
  { from: string; name: string; opts: SymbolicLinkOptions }
>({
  name: 'symbolicLink',
  execution: 'in-sequence',
  optionsParam: 2,
  parse: (from, name, opts = {}) => ({
    from: checkPath('symbolicLink', from),
    name: checkPath('symbolicLink', name),
    opts: validate(
      z.strictObject({ action: z.enum(['create', 'delete']).optional(), force: z.boolean().optional() }),
      opts,
      `symbolicLink '${name}'`,
    ),
  }),
  summary: ([a]) => `symbolicLink ${a?.name ?? ''} -> ${a?.from ?? ''}`,
  script: ([a], ctx) => {
    const f = shQuote(a!.from);
    const n = shQuote(a!.name);
    if (a!.opts.action === 'delete')
      return {
        script: `if [ -L ${n} ]; then ${mutation(ctx, `rm -f ${n}`, shQuote(`delete link ${a!.name}`))}; pallet_changed; fi`,
        changes: 'reported',
        checked: true,
      };
    // A real directory is never replaced (`ln -sfn` would put the link inside it, on every run);
    // with `force`, only a regular file is.
    const refuse = (why: string) => `{ echo ${shQuote(`symbolicLink ${a!.name}: ${why}`)} >&2; exit 1; }`;
    const guard = [
      `if [ ! -L ${n} ] && [ -e ${n} ]; then`,
      `  if [ -d ${n} ]; then ${refuse('is a directory: pallet does not replace a directory with a link')}`,
      `  elif [ ! -f ${n} ]; then ${refuse('is a fifo, socket or device: pallet does not replace it')}`,
      ...(a!.opts.force ? [] : [`  else ${refuse('exists and is not a link (use force: true to replace the file)')}`]),
      '  fi',
      'fi',
    ].join('\n');
    const link = mutation(ctx, `ln -sfn ${f} ${n}`, shQuote(`link ${a!.name} -> ${a!.from}`));
    return {
      script: `${guard}\nif [ "$(readlink ${n} 2>/dev/null)" != ${f} ]; then ${link}; pallet_changed; fi`,
      changes: 'reported',
      checked: true,
    };
  },
});

/**
 * Make a named pipe exist (or remove it).
 *
 * @example
 * ```ts
 * fifo('/run/app/control', { owner: 'app', mode: '0600' });
 * ```
 */
export const fifo = defineAction<[path: string, opts?: FileOptions], PathArgs<FileOptions>>({
  name: 'fifo',
  execution: 'in-sequence',
  optionsParam: 1,
  parse: (path, opts = {}) => ({
    path: checkPath('fifo', path),
    opts: validate(fileOptions, opts, `fifo '${path}'`) as FileOptions,
  }),
  summary: ([a]) => `fifo ${a?.path ?? ''}`,
  script: ([a], ctx) => {
    const p = shQuote(a!.path);
    if (a!.opts.action === 'delete')
      return {
        script: `if [ -p ${p} ]; then ${mutation(ctx, `rm -f ${p}`, shQuote(`delete fifo ${a!.path}`))}; pallet_changed; fi`,
        changes: 'reported',
        checked: true,
      };
    return {
      script: [
        `if [ ! -p ${p} ]; then ${mutation(ctx, `mkfifo ${p}`, shQuote(`create fifo ${a!.path}`))}; pallet_changed; fi`,
        ensureAttrs(p, { owner: a!.opts.owner, group: a!.opts.group, mode: modeStr(a!.opts.mode) }, ctx),
      ]
        .filter(Boolean)
        .join('\n'),
      changes: 'reported',
      checked: true,
    };
  },
});

export interface SedOptions extends ChangeOptions {
  /** Only lines matching this address (a sed address such as `/^#/` or `1,5`). */
  restriction?: string;
  /** The separator of the `s` command (default `/`). */
  separator?: string;
  /** Through a symbolic link (default) the file it resolves to is edited; `false` replaces the link with the edited copy. */
  follow?: boolean;
}

/**
 * Edit a file in place with sed `s` commands: `{ regexp: replacement }` or a
 * list of pairs. The file is replaced atomically, only when it changes.
 *
 * @example
 * ```ts
 * sed('/etc/app.conf', { '^port=.*': 'port=8080' }, { restriction: '/^\\[server\\]/,/^\\[/' });
 * ```
 */
export const sed = defineAction<
  [path: string, exprs: Record<string, string> | Array<[string, string]>, opts?: SedOptions],
  { path: string; exprs: Array<[string, string]>; opts: SedOptions }
>({
  name: 'sed',
  execution: 'in-sequence',
  optionsParam: 2,
  parse: (path, exprs, opts = {}) => {
    const pairs = Array.isArray(exprs) ? exprs : Object.entries(exprs);
    const o = validate(
      z.strictObject({
        restriction: z.string().optional(),
        separator: z.string().length(1).optional(),
        follow: z.boolean().optional(),
      }),
      opts,
      `sed '${path}'`,
    );
    const sep = o.separator ?? '/';
    for (const [from, to] of pairs) {
      if (from.includes('\n') || to.includes('\n')) throw new Error(`sed '${path}': expressions are single lines`);
      if (from.includes(sep) || to.replace(/\\./g, '').includes(sep))
        throw new Error(
          `sed '${path}': '${from}' or '${to}' contains the separator '${sep}'; choose another with { separator }`,
        );
    }
    return { path: checkPath('sed', path), exprs: pairs, opts: o };
  },
  summary: ([a]) => `sed ${a?.path ?? ''}`,
  script: ([a], ctx) => {
    const sep = a!.opts.separator ?? '/';
    const program = a!.exprs
      .map(([from, to]) => `${a!.opts.restriction ?? ''}s${sep}${from}${sep}${to}${sep}g`)
      .join('\n');
    return {
      script: [
        resolveTarget(a!.path, 'sed', { follow: a!.opts.follow ?? true }),
        `[ -f "$pallet_p" ] || { echo ${shQuote(`sed ${a!.path}: does not exist`)} >&2; exit 1; }`,
        // Unchanged by the expressions (most runs): nothing is staged.
        `sed -e ${shQuote(program)} "$pallet_p" | cmp -s - "$pallet_p" && exit 0`,
        'pallet_differs=1',
        stageBeside('exit 1', ctx),
        removeStagedOnExit,
        `sed -e ${shQuote(program)} "$pallet_p" > "$pallet_t" || exit 1`,
        installStaged('"$pallet_p"', 'pallet_changed', {}, ctx),
      ].join('\n'),
      changes: 'reported',
      checked: true,
    };
  },
});
