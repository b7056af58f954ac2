/**
 * `remoteFile`: a file whose content, owner, group and mode pallet manages.
 *
 * - The new content is produced beside the target (a temporary file in the
 *   same directory), compared with the current file, and renamed over it only
 *   when it differs: an interrupted run never leaves half a file.
 * - Content sources: `content` (exact bytes), `localFile` (read on the
 *   controller), `url` (curl or wget on the node, with `md5` / `md5Url`),
 *   `remoteFile` (a file already on the node), `link` (a symbolic link),
 *   `template` (a local file with `~{name}` placeholders and `values`).
 * - The state root (default `/var/lib/pallet`, or the admin user's
 *   `stateRoot`) keeps a master copy, its md5 and numbered backups
 *   (`maxVersions`, default 5). If the file was edited on the node since pallet
 *   wrote it, the run fails with a clear message unless `overwriteChanges`.
 *   `noVersioning` keeps no state.
 * - Owner, group and mode are re-applied when they drift, even if the content
 *   is unchanged (the original did not).
 *
 * Why this file is long: one action with six content sources, versioning in the state root, verify, attributes, links and
 * check mode; they share one staged-file script, which is only readable whole.
 */
import { createHash } from 'node:crypto';
import type { ChangeOptions } from '../plan/types.js';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, posix, resolve } from 'node:path';
import * as z from 'zod';
import { defineAction } from '../plan/action.js';
import { currentSession, FactsNeeded } from '../plan/session.js';
import { facts, settingsSnapshot } from '../plan/settings.js';
import type { Facts } from '../script/facts.js';
import { templateContext } from '../template/context.js';
import { renderJinjaFile, type TemplateValue } from '../template/jinja.js';
import type { Deferred, ScriptContext } from '../plan/types.js';
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
import { base64Lines, heredoc, isPlainText, shQuote, writeBytes } from '../script/quote.js';
import { mutation } from '../script/check.js';
import { validate } from '../core/validate.js';
import { checkPath, modeSchema } from './arguments.js';

export interface RemoteFileOptions extends ChangeOptions {
  /** Exact content (bytes are preserved; nothing is expanded unless `literal: false`). */
  content?: Deferred<string | Buffer>;
  /** A file on the controller whose content is sent. */
  localFile?: string;
  /** Download on the node with curl or wget. */
  url?: string;
  /** Expected md5 of the download: the download is skipped when the file already has it. */
  md5?: string;
  /** URL of an md5 file for `url`. */
  md5Url?: string;
  /** Copy this file, already on the node. */
  remoteFile?: string;
  /** Make the path a symbolic link to this target. */
  link?: string;
  /**
   * A template file on the controller. A `.j2` file (or `engine: 'jinja'`) is Jinja, rendered as Ansible renders
   * it (see src/template/jinja.ts) with the node's facts (`facts`, and Ansible's names such as
   * `ansible_processor_vcpus`), inventory variables, `settings`, `inventory_hostname`, `group_names` and
   * `values`; any other file has `~{name}` placeholders filled from `values`. Found as Pallet finds templates:
   * `name_<group>.ext`, `name_<osFamily>.ext`, `name_<packager>.ext`, then `name.ext`, also under `resources/`.
   */
  template?: string;
  /** How `template` is read: `jinja` (default for `.j2`) or `pallet` (`~{name}` placeholders, the default otherwise). */
  engine?: 'jinja' | 'pallet';
  /** Values for the template: data (lists and objects too, for Jinja); `~{name}` placeholders take strings, numbers and booleans. */
  values?: Record<string, TemplateValue>;
  /**
   * Jinja only: a role's defaults (`defaults/main.yml` read as data), the weakest variables as in Ansible: inventory
   * variables and facts win over them, and their own `{{ ... }}` are rendered when read.
   */
  defaults?: Record<string, TemplateValue>;
  /** With `content`: false lets the node's shell expand `$VARS` in the content. Default true. */
  literal?: boolean;
  owner?: string;
  group?: string;
  /** Octal mode, e.g. '0644'. New files default to 0644. */
  mode?: string | number;
  /** Replace the file even if it was edited on the node since pallet wrote it. */
  overwriteChanges?: boolean;
  /** Keep no master copy, md5 or backups in the state root. */
  noVersioning?: boolean;
  /** How many numbered backups to keep (default 5). */
  maxVersions?: number;
  /** A command run with the new file's path before it is installed; failure aborts. */
  verify?: string;
  /** Accept any TLS certificate for `url`. */
  insecure?: boolean;
  /** `delete` removes the file (a link is removed, not what it points to). */
  action?: 'create' | 'delete';
  /**
   * When the path is a symbolic link: `true` (default) writes through it (the
   * link stays; the file it resolves to gets the content, keeping its owner and
   * mode); `false` replaces the link itself with a regular file.
   */
  follow?: boolean;
  /**
   * The content is secret: results, logs, events, reports and `explain` show
   * `<sensitive>` instead of it (and of a template's values); drift is reported
   * as "content differs" without a diff; the state root keeps only its checksum.
   */
  sensitive?: boolean;
  /** With `sensitive`: keep plaintext master copies and backups (0600) as for other files. */
  keepSensitiveCopies?: boolean;
}

const sources = ['content', 'localFile', 'url', 'remoteFile', 'link', 'template'] as const;

const optionsSchema = z
  .strictObject({
    content: z.union([z.string(), z.instanceof(Buffer)]).optional(),
    localFile: z.string().min(1).optional(),
    url: z
      .string()
      .regex(/^(https?|ftp|file):\/\//, 'an http(s), ftp or file URL')
      .optional(),
    md5: z
      .string()
      .regex(/^[0-9a-f]{32}$/i, '32 hex digits')
      .optional(),
    md5Url: z.string().optional(),
    remoteFile: z.string().min(1).optional(),
    link: z.string().min(1).optional(),
    template: z.string().min(1).optional(),
    engine: z.enum(['jinja', 'pallet']).optional(),
    values: z.record(z.string(), z.unknown()).optional(),
    defaults: z.record(z.string(), z.unknown()).optional(),
    literal: z.boolean().optional(),
    owner: z.string().optional(),
    group: z.string().optional(),
    mode: modeSchema.optional(),
    overwriteChanges: z.boolean().optional(),
    noVersioning: z.boolean().optional(),
    maxVersions: z.number().int().nonnegative().optional(),
    verify: z.string().optional(),
    insecure: z.boolean().optional(),
    action: z.enum(['create', 'delete']).optional(),
    follow: z.boolean().optional(),
    sensitive: z.boolean().optional(),
    keepSensitiveCopies: z.boolean().optional(),
  })
  .superRefine((o, ctx) => {
    const given = sources.filter((k) => o[k] !== undefined);
    if (o.action !== 'delete' && given.length === 0) {
      ctx.addIssue({ code: 'custom', message: `give one content source (${sources.join(', ')}) or action: 'delete'` });
    }
    if (given.length > 1)
      ctx.addIssue({ code: 'custom', message: `give only one content source, not ${given.join(' and ')}` });
  });

export interface RemoteFileArgs {
  path: string;
  opts: RemoteFileOptions;
  /** `localFile` content (small files), read on the controller when the call was made. */
  local?: Buffer;
  /** A Jinja template, rendered when the call was made (the plan's facts, variables and settings are known then). */
  rendered?: string;
  /** A large `localFile`: uploaded on its own (skipped when the node has it), identified by its md5. */
  upload?: { localPath: string; md5: string };
}

/** Local files up to this size travel inside the phase's script; larger ones are uploaded once, by content. */
export const inlineLimit = 32 * 1024;

/**
 * Fill `~{name}` placeholders. An unknown name is an error (a typo should not ship an empty value).
 *
 * @example
 * ```ts
 * interpolate('listen ~{port};', { port: 8080 }, 'nginx.conf'); // 'listen 8080;'
 * ```
 */
export function interpolate(text: string, values: Record<string, TemplateValue>, what: string): string {
  return text.replace(/~\{([A-Za-z0-9_.-]+)\}/g, (_m, name: string) => {
    if (!(name in values)) throw new Error(`${what}: the template uses ~{${name}} but values has no '${name}'`);
    const v = values[name];
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      throw new Error(
        `${what}: ~{${name}} takes a string, number or boolean; '${name}' is ${v === null ? 'null' : typeof v} (a Jinja template, .j2, can read lists and objects)`,
      );
    }
    return String(values[name]);
  });
}

/**
 * The template variants of `path`, most specific first, as Pallet looks for them: for the group, the OS family,
 * the packager, then none, `dir/base_<variant>.ext` and (for a relative path) the same under `resources/`; after
 * each Pallet form this project's older `path_<variant>` form is still accepted.
 */
export function templateCandidates(path: string, variants: ReadonlyArray<string | undefined>): string[] {
  const dir = dirname(path);
  const file = basename(path);
  const dot = file.lastIndexOf('.');
  const [base, ext] = dot > 0 ? [file.slice(0, dot), file.slice(dot)] : [file, ''];
  const at = (name: string) => join(dir, name);
  const withResources = (p: string) => (isAbsolute(p) ? [p] : [p, join('resources', p)]);
  const out: string[] = [];
  for (const v of variants) {
    if (!v) continue;
    out.push(...withResources(at(`${base}_${v}${ext}`)), `${path}_${v}`);
  }
  out.push(...withResources(path));
  return [...new Set(out)];
}

/** The first existing variant (see `templateCandidates`). */
function templateFile(path: string, variants: ReadonlyArray<string | undefined>): string {
  const candidates = templateCandidates(path, variants);
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`remoteFile template: none of ${candidates.join(', ')} exists on the controller`);
  return found;
}

/** The content of a `template` source, rendered for this node. */
function rendered(a: RemoteFileArgs, ctx: ScriptContext): string | undefined {
  if (a.opts.template === undefined) return undefined;
  if (a.rendered !== undefined) return a.rendered;
  const file = templateFile(a.opts.template, [ctx.target.spec.groupName, ctx.osFamily, ctx.packager]);
  return interpolate(readFileSync(file, 'utf8'), a.opts.values ?? {}, `remoteFile ${a.path}`);
}

/** Everything secret about a sensitive file: its bytes in every source, a template's values. */
function secretsOf(a: RemoteFileArgs, ctx: ScriptContext): string[] {
  const o = a.opts;
  const bytes = [o.content, a.local, rendered(a, ctx), a.upload ? readFileSync(a.upload.localPath) : undefined];
  return [
    // Raw bytes need their own base64 forms (their UTF-8 reading may not round-trip).
    ...bytes
      .filter((b): b is string | Buffer => b !== undefined && typeof b !== 'function')
      .flatMap((b) => [b.toString(), Buffer.from(b).toString('base64'), base64Lines(b).trimEnd()]),
    ...leaves(o.values ?? {}),
    ...leaves(o.defaults ?? {}),
  ];
}

/** Every string and number inside a template's values (secrets of a sensitive file). */
function leaves(v: unknown): string[] {
  if (v === null || v === undefined) return [];
  if (Array.isArray(v)) return v.flatMap(leaves);
  if (typeof v === 'object') return Object.values(v).flatMap(leaves);
  return [String(v)];
}

const isJinja = (o: RemoteFileOptions) =>
  o.template !== undefined && (o.engine ?? (/\.j2$/.test(o.template) ? 'jinja' : 'pallet')) === 'jinja';

/** Render a Jinja template for the current node, at plan time. */
function renderForNode(path: string, o: RemoteFileOptions): string {
  const s = currentSession('remoteFile with a Jinja template');
  const file = templateFile(o.template!, [s.target.spec.groupName, s.os.osFamily, s.os.packager]);
  let f: Facts | undefined;
  try {
    f = facts();
  } catch (e) {
    // Facts gathered on demand: let the engine probe this node and plan again (a template may read them).
    if (e instanceof FactsNeeded) throw e;
    f = undefined;
  }
  const ctx = templateContext({
    ...(f ? { facts: f } : {}),
    vars: s.target.node.vars ?? {},
    settings: settingsSnapshot(),
    hostname: s.target.node.hostname,
    groupNames: [...new Set([s.target.spec.groupName, ...s.target.groupNames])],
    values: (o.values ?? {}) as Record<string, unknown>,
    ...(o.defaults ? { defaults: o.defaults as Record<string, unknown> } : {}),
  });
  try {
    return renderJinjaFile(file, ctx);
  } catch (e) {
    const hint =
      !f && /is undefined/.test((e as Error).message)
        ? ' (this plan has no facts: a lift gathers them unless osDetect is false; explain takes them from --facts-from NODE or --facts FILE)'
        : '';
    throw new Error(`remoteFile '${path}': template ${(e as Error).message}${hint}`, { cause: e });
  }
}

/** The commands that put the new content in "$pallet_t"; `known`: its bytes, when already computed. */
function produce(a: RemoteFileArgs, ctx: ScriptContext, known: Buffer | undefined): string[] {
  const o = a.opts;
  const t = '"$pallet_t"';
  if (o.content !== undefined) {
    if (o.literal === false) {
      // Unquoted delimiter: the user asked for shell expansion of the content.
      const doc = heredoc(String(o.content), { quoted: false });
      return [`cat > ${t} ${doc.open} || exit 1\n${doc.text}`];
    }
    return [writeBytes(o.content as string | Buffer, t, 'exit 1', { plain: !o.sensitive })];
  }
  if (a.local !== undefined) return [writeBytes(a.local, t, 'exit 1', { plain: !o.sensitive })];
  if (a.upload !== undefined) {
    const staged = `"$PALLET_UPLOADS/${a.upload.md5}"`;
    return [
      `[ "$(md5sum < ${staged} | cut -d' ' -f1)" = '${a.upload.md5}' ] || { echo ${shQuote(`remoteFile ${a.path}: the uploaded copy of ${a.upload.localPath} is missing or damaged`)} >&2; exit 1; }`,
      `cp -f ${staged} ${t} || exit 1`,
      // A sensitive file's bytes do not stay in the upload cache (it is sent again next time).
      ...(a.opts.sensitive ? [`rm -f ${staged}`] : []),
    ];
  }
  if (o.template !== undefined) return [writeBytes(known ?? rendered(a, ctx)!, t, 'exit 1', { plain: !o.sensitive })];
  if (o.remoteFile !== undefined) return [`cp -f ${shQuote(o.remoteFile)} ${t} || exit 1`];
  if (o.url !== undefined) {
    const u = shQuote(o.url);
    const k = o.insecure ? ' --insecure' : '';
    const wk = o.insecure ? ' --no-check-certificate' : '';
    const lines = [
      `if command -v curl >/dev/null 2>&1; then curl -fsSL --retry 5${k} -o ${t} ${u}`,
      `elif command -v wget >/dev/null 2>&1; then wget -q --tries 5${wk} -O ${t} ${u}`,
      `else echo ${shQuote(`remoteFile ${a.path}: neither curl nor wget is installed on the node`)} >&2; exit 1; fi || { echo ${shQuote(`remoteFile ${a.path}: download of ${o.url} failed`)} >&2; exit 1; }`,
    ];
    if (o.md5) {
      lines.push(
        `[ "$(md5sum < ${t} | cut -d' ' -f1)" = ${shQuote(o.md5.toLowerCase())} ] || { echo ${shQuote(`remoteFile ${a.path}: download of ${o.url} failed to match md5 ${o.md5}`)} >&2; exit 1; }`,
      );
    }
    return lines;
  }
  return [];
}

/**
 * The bytes the file will have, when the controller knows them (given content, a local file sent inline,
 * a rendered template), for files that are not sensitive: their SHA-256 goes into the script, and a hash
 * of a secret would let anyone who sees the script guess a weak one.
 */
function knownContent(a: RemoteFileArgs, ctx: ScriptContext): Buffer | undefined {
  const o = a.opts;
  if (o.sensitive) return undefined;
  if (o.content !== undefined && o.literal !== false) return Buffer.from(o.content as string | Buffer);
  if (a.local !== undefined) return Buffer.from(a.local);
  if (o.template !== undefined) return Buffer.from(rendered(a, ctx)!);
  return undefined;
}

function script(a: RemoteFileArgs, ctx: ScriptContext): string {
  const o = a.opts;
  const p = shQuote(a.path);
  const versioned = !o.noVersioning && o.link === undefined;
  const state = a.path.startsWith('/') ? `${ctx.stateRoot}${a.path}` : `${ctx.stateRoot}/relative/${a.path}`;
  const st = shQuote(state);
  if (o.action === 'delete') {
    return [
      `if [ -d ${p} ] && [ ! -L ${p} ]; then echo ${shQuote(`remoteFile ${a.path}: is a directory: pallet does not delete a directory as a file`)} >&2; exit 1; fi`,
      `if [ -e ${p} ] || [ -L ${p} ]; then ${mutation(ctx, `rm -f ${p}`, shQuote(`delete ${a.path}`))}; pallet_changed; fi`,
    ].join('\n');
  }
  const check = ctx.check === true;
  const freshMode = onlyMode(o, ctx);
  const modeOnly = freshMode !== undefined;
  const checkAttrs = ensureAttrs(
    '"$pallet_p"',
    { owner: o.owner, group: o.group, ...(o.mode !== undefined ? { mode: normaliseMode(o.mode) } : {}) },
    ctx,
  );
  // A new file with only a mode asked for is staged with that mode: then there is nothing to read back.
  const attrs = modeOnly ? unlessFresh(checkAttrs) : checkAttrs;
  if (o.link !== undefined) {
    const l = shQuote(o.link);
    return [
      `if [ "$(readlink ${p} 2>/dev/null)" != ${l} ]; then`,
      `  [ ! -d ${p} ] || [ -L ${p} ] || { echo ${shQuote(`remoteFile ${a.path}: is a directory, not replacing it with a link`)} >&2; exit 1; }`,
      `  ${mutation(ctx, `ln -sfn ${l} ${p}`, shQuote(`link ${a.path} -> ${o.link}`))}; pallet_changed`,
      'fi',
    ].join('\n');
  }
  const lines: string[] = [
    resolveTarget(a.path, 'remoteFile', { follow: o.follow ?? true }),
    'pallet_ms=',
    ...(modeOnly ? ['pallet_fresh='] : []),
  ];
  const known = knownContent(a, ctx);
  // A sensitive file keeps only a checksum in the state root: no plaintext copy, no backups.
  const checksumOnly = versioned && o.sensitive === true && !o.keepSensitiveCopies;
  const md5File = shQuote(`${state}.md5`);
  if (versioned && !o.overwriteChanges) {
    const changedOnNode = `remoteFile ${a.path}: the file was changed on the node since pallet last wrote it`;
    const advice = 'Copy the change into your spec, or use overwriteChanges: true to replace it.';
    if (checksumOnly) {
      lines.push(
        `if [ -e "$pallet_p" ] && [ -f ${md5File} ]; then`,
        '  pallet_m=$(md5sum < "$pallet_p") && read -r pallet_was pallet_rest < ' + md5File + ' || exit 1',
        `  [ "\${pallet_m%% *}" = "$pallet_was" ] || { echo ${shQuote(`${changedOnNode} (content differs; the file is sensitive, so no diff is shown). ${advice}`)} >&2; exit 1; }`,
        'fi',
      );
    } else {
      lines.push(
        // pallet_ms: the file is its master copy (then an unchanged file needs no second comparison).
        `if [ -e "$pallet_p" ] && [ -e ${st} ]; then`,
        `  if cmp -s "$pallet_p" ${st}; then pallet_ms=1; else`,
        `    diff -u ${st} "$pallet_p" 2>/dev/null | head -n 40 >&2`,
        `    echo ${shQuote(`${changedOnNode} (it no longer matches the master copy ${state}). ${advice}`)} >&2`,
        '    exit 1',
        '  fi',
        'fi',
      );
    }
  }
  if (o.md5 && o.url !== undefined) {
    // Nothing to download when the file already has the expected content.
    lines.push(
      `if [ -f "$pallet_p" ] && [ "$(md5sum < "$pallet_p" | cut -d' ' -f1)" = ${shQuote(o.md5.toLowerCase())} ]; then pallet_skip=1; else pallet_skip=; fi`,
    );
  } else if (o.md5Url && o.url !== undefined) {
    lines.push(
      `pallet_md5=$( { curl -fsSL ${shQuote(o.md5Url)} 2>/dev/null || wget -q -O - ${shQuote(o.md5Url)}; } | head -c 32) || exit 1`,
      `if [ -f "$pallet_p" ] && [ "$(md5sum < "$pallet_p" | cut -d' ' -f1)" = "$pallet_md5" ]; then pallet_skip=1; else pallet_skip=; fi`,
    );
  } else {
    lines.push(
      known === undefined
        ? 'pallet_skip='
        : // The content is known here: a file that already has it (by its SHA-256) needs no staged copy.
          // pallet_differs: it certainly differs (installStaged then compares nothing again).
          [
            'pallet_skip=',
            'if [ -f "$pallet_p" ] && [ ! -L "$pallet_p" ]; then',
            '  pallet_h=$(sha256sum < "$pallet_p" 2>/dev/null)',
            `  if [ "$pallet_h" = '${createHash('sha256').update(known).digest('hex')}  -' ]; then pallet_skip=1; elif [ -n "$pallet_h" ]; then pallet_differs=1; fi`,
            'fi',
          ].join('\n'),
    );
  }
  const noDir = `echo ${shQuote(`remoteFile ${a.path}: cannot write in the directory of the file (does it exist?)`)} >&2; exit 1`;
  if (check && a.upload) {
    // Check mode uploads nothing: a large local file is compared by its md5.
    lines.push(
      'if [ -z "$pallet_skip" ]; then',
      stageBeside(noDir, ctx),
      'rm -f "$pallet_t"',
      `if ! { [ ! -L "$pallet_p" ] && [ -f "$pallet_p" ] && [ "$(md5sum < "$pallet_p" | cut -d' ' -f1)" = '${a.upload.md5}' ]; }; then`,
      `  pallet_would "$pallet_p"${shQuote(`: content differs from ${a.upload.localPath} (a large file: no diff)`)}; pallet_changed`,
      'fi',
      'fi',
    );
    lines.push(attrs);
    return lines.filter(Boolean).join('\n');
  }
  lines.push('if [ -z "$pallet_skip" ]; then', stageBeside(noDir, ctx), removeStagedOnExit, ...produce(a, ctx, known));
  if (o.md5Url && o.url !== undefined) {
    lines.push(
      `[ "$(md5sum < "$pallet_t" | cut -d' ' -f1)" = "$pallet_md5" ] || { echo ${shQuote(`remoteFile ${a.path}: download of ${o.url} failed to match md5`)} >&2; exit 1; }`,
    );
  }
  // Check mode runs no command of the user's (verify is one): a real run may still refuse the content.
  // The new content is verified only when it differs from the file's (as Ansible's validate): unchanged content
  // replaces nothing, and a verify command (fail2ban-client -t, nginx -t) can cost more than the rest of the file.
  if (o.verify && !check) {
    lines.push(
      `if [ -n "\${pallet_differs:-}" ] || ! { [ ! -L "$pallet_p" ] && [ -f "$pallet_p" ] && cmp -s "$pallet_t" "$pallet_p"; }; then`,
      `  ${o.verify} "$pallet_t" || { echo ${shQuote(`remoteFile ${a.path}: verify failed: ${o.verify}`)} >&2; exit 1; }`,
      'fi',
    );
  }
  lines.push(
    installStaged(
      '"$pallet_p"',
      'pallet_changed',
      {
        ...(o.sensitive ? { sensitive: true } : {}),
        ...(freshMode !== undefined ? { newFileMode: normaliseMode(freshMode) } : {}),
      },
      ctx,
    ),
    'fi',
  );
  if (check) {
    // Check mode keeps no master copy, checksum or backup: only the attributes are compared.
    lines.push(attrs);
    return lines.filter(Boolean).join('\n');
  }
  const stateDir = shQuote(posix.dirname(state));
  // State files are private: 0600 files in 0700 directories (umask 077 in a subshell).
  const privateDirs = `[ -d ${stateDir} ] || mkdir -p ${stateDir} || exit 1; chmod 700 ${shQuote(ctx.stateRoot)} || exit 1`;
  if (checksumOnly) {
    lines.push(
      '(',
      '  umask 077',
      '  pallet_m=$(md5sum < "$pallet_p") || exit 1',
      `  if ! { [ -f ${md5File} ] && read -r pallet_was pallet_rest < ${md5File} && [ "\${pallet_m%% *}" = "$pallet_was" ]; }; then`,
      `    ${privateDirs}`,
      `    printf '%s  %s\\n' "\${pallet_m%% *}" ${shQuote(posix.basename(state))} > ${md5File} || exit 1`,
      '  fi',
      // Plaintext copies left by an earlier, non-sensitive version of this file.
      `  rm -f ${st} ${st}.~*~`,
      ') || exit 1',
    );
  } else if (versioned) {
    const max = o.maxVersions ?? 5;
    lines.push(
      // Few processes: this runs for every changed file, on every node at once.
      `if { [ -z "$pallet_skip" ] || [ -z "$pallet_ms" ]; } && { [ ! -e ${st} ] || ! cmp -s "$pallet_p" ${st}; }; then (`,
      '  umask 077',
      `  ${privateDirs}`,
      // The first master copy of short plain content the controller knows is written by the builtin printf.
      known !== undefined && known.length <= 4096 && isPlainText(known)
        ? `  if [ -e ${st} ]; then cp -f --backup=numbered "$pallet_p" ${st} || exit 1; else ${writeBytes(known, st, 'exit 1', { plain: true })}; fi`
        : `  cp -f --backup=numbered "$pallet_p" ${st} || exit 1`,
      // The file now has the content the controller knows (when it does): its md5 needs no md5sum.
      known === undefined
        ? `  pallet_m=$(md5sum < ${st}) && printf '%s  %s\\n' "\${pallet_m%% *}" ${shQuote(posix.basename(state))} > ${md5File} || exit 1`
        : `  printf '%s  %s\\n' '${createHash('md5').update(known).digest('hex')}' ${shQuote(posix.basename(state))} > ${md5File} || exit 1`,
      // Numbered backups beyond maxVersions are removed, oldest first.
      `  set -- ${st}.~*~`,
      `  if [ -e "$1" ] && [ $# -gt ${max} ]; then`,
      `    for pallet_b in $(printf '%s\\n' "$@" | sed 's/.*\\.~\\([0-9]*\\)~$/\\1/' | sort -n | head -n $(($# - ${max}))); do rm -f ${st}.~"$pallet_b"~; done`,
      '  fi',
      ') || exit 1; fi',
    );
  }
  lines.push(attrs);
  return lines.filter(Boolean).join('\n');
}

/**
 * Make the file at `path` have the given content, owner, group and mode.
 * Reports a change only when one of them differed.
 *
 * @example
 * ```ts
 * remoteFile('/etc/motd', { content: 'Managed by pallet\n', mode: '0644' });
 * remoteFile('/etc/nginx/nginx.conf', { template: 'templates/nginx.conf.j2', flagOnChanged: 'nginx-conf' });
 * remoteFile('/opt/app.tgz', { url: 'https://example.org/app.tgz', md5: '0123456789abcdef0123456789abcdef' });
 * ```
 */
export const remoteFile = defineAction<[path: string, opts: RemoteFileOptions], RemoteFileArgs>({
  name: 'remoteFile',
  execution: 'in-sequence',
  optionsParam: 1,
  parse: (path, opts) => {
    checkPath('remoteFile', path);
    const o = validate(optionsSchema, opts, `remoteFile '${path}'`) as RemoteFileOptions;
    const args: RemoteFileArgs = { path, opts: o };
    if (o.defaults && !isJinja(o))
      throw new Error(
        `remoteFile '${path}': defaults are for Jinja templates (.j2, or engine: 'jinja'); use values with ~{name} placeholders`,
      );
    if (isJinja(o)) args.rendered = renderForNode(path, o);
    if (o.localFile !== undefined) {
      try {
        const abs = resolve(o.localFile);
        if (statSync(abs).size <= inlineLimit) args.local = readFileSync(abs);
        else args.upload = { localPath: abs, md5: createHash('md5').update(readFileSync(abs)).digest('hex') };
      } catch (e) {
        throw new Error(`remoteFile '${path}': cannot read localFile ${o.localFile}: ${(e as Error).message}`);
      }
    }
    return args;
  },
  summary: ([a]) => `remoteFile ${a?.path ?? ''}`,
  preview: ([a], ctx) => {
    const o = a!.opts;
    if (o.sensitive) return '<sensitive: not shown>';
    if (o.link !== undefined) return `(a symbolic link to ${o.link})`;
    const bytes = o.content ?? a!.local ?? rendered(a!, ctx);
    if (bytes === undefined || typeof bytes === 'function') return undefined;
    const b = Buffer.from(bytes);
    return b.includes(0) ? `(${b.length} bytes of binary content)` : b.toString('utf8');
  },
  script: ([a], ctx) => {
    const body = script(a!, ctx);
    const uploads = a!.upload ? { uploads: [a!.upload] } : {};
    if (!a!.opts.sensitive) return { script: body, changes: 'reported', checked: true, ...uploads };
    return { script: body, changes: 'reported', checked: true, sensitive: secretsOf(a!, ctx), ...uploads };
  },
});
