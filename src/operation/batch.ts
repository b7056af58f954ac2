/**
 * A batch: many actions of one target sent as ONE shell script, in one round
 * trip, that still reports one result per action.
 *
 * Each action's script is written into a private temporary directory and run
 * in a subshell of its own (`( . file )`), so a syntax error or an `exit` in one
 * action cannot disturb the others. A script of plain ASCII travels as one
 * single-quoted word written by the shell's own `printf`; any other byte makes it
 * travel base64-encoded (no shell quirk can alter a byte of it: dash drops bytes
 * inside heredocs, see `safeDelimiter`). After each action the batch prints a
 * frame on stdout:
 *
 *     \n@@PALLET:<nonce> <key> <exit> <stdout bytes> <stderr bytes> <control bytes> <changed>\n<stdout><stderr><control>
 *
 * and stops at the first action that fails. An action that printed nothing and
 * reported nothing (most of an idempotent run) gets its frame from builtins
 * alone; the cost of the batch machinery is then one fork per action, no exec.
 * Control data (a change report, flags,
 * values) travels out of band: the helpers `pallet_changed`, `pallet_set_flag`
 * and `pallet_set_value` append NUL-separated records to the file named by
 * `$PALLET_CONTROL`, never to the output, so nothing a node prints can set a
 * flag or report a change. Shell conditions (`planWhen` with a string) become
 * `if` blocks around their actions, so they cost no extra round trip. Frames
 * are parsed as they stream in, in time linear in their size.
 *
 * Why this file is long: the batch script and its frame parser are one protocol (one writes what the other reads) and
 * are tested together in test/operation/batch.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { shQuote, writeBytes } from '../script/quote.js';
import type { ActionOptions } from '../plan/types.js';
import { checkHelpers } from '../script/check.js';

export type BatchEntry =
  | { kind: 'action'; key: string; script: string; options: ActionOptions }
  /** A shell condition; with `flags`, a test of target flags decided in the batch (`cond` is unused). */
  | {
      kind: 'test';
      key: string;
      cond: string;
      negate: boolean;
      options: ActionOptions;
      then: BatchEntry[];
      flags?: string[];
    };

export interface Frame {
  key: string;
  exit: number;
  out: Buffer;
  err: Buffer;
  /** Control records written by the action's helpers. */
  ctl: Buffer;
}

export function newNonce(): string {
  return randomBytes(8).toString('hex');
}

const envName = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The start of every action script: its environment, and the helpers it (and,
 * through `$PALLET_CONTROL`, any program it runs) can use to report.
 * The same for every run of the same plan (no nonce), so `explain` is stable.
 */
export function prelude(options: ActionOptions, uploadDir?: string, check = false): string {
  const lines: string[] = [];
  if (uploadDir) lines.push(`PALLET_UPLOADS=${shQuote(uploadDir)}; export PALLET_UPLOADS`);
  for (const [k, v] of Object.entries(options.scriptEnv ?? {})) {
    if (!envName.test(k)) throw new Error(`invalid environment variable name ${JSON.stringify(k)}`);
    lines.push(`${k}=${shQuote(v)}; export ${k}`);
  }
  lines.push(
    // A change is a byte in $PALLET_CHANGED (the batch reads it without a process), else a record.
    `pallet_changed() { if [ -n "\${PALLET_CHANGED:-}" ]; then printf x >> "$PALLET_CHANGED"; else printf 'C\\000' >> "$PALLET_CONTROL"; fi; }`,
    `pallet_set_flag() { printf 'F\\000%s\\000' "$1" >> "$PALLET_CONTROL"; }`,
    `pallet_set_value() { printf 'V\\000%s\\000%s\\000' "$1" "$2" >> "$PALLET_CONTROL"; }`,
  );
  if (check) lines.push(checkHelpers);
  if (options.scriptDir) {
    const d = shQuote(options.scriptDir);
    lines.push(`mkdir -p ${d} && cd ${d} || { echo "pallet: cannot use script directory "${d} >&2; exit 1; }`);
  }
  if (options.scriptTrace) lines.push('set -x');
  return lines.join('\n');
}

/** The separator a sudo action prints between its output and its control records. */
export function sudoControlMark(nonce: string): string {
  return `\n@@PALLET-CTL:${nonce}\n`;
}

/** The command that writes `file` to `"$pallet_d/s"`, byte for byte (printf for plain ASCII, else base64). */
export function writeScript(file: string): string {
  return writeBytes(file, '"$pallet_d/s"', 'exit 97', { plain: true, quotes: true });
}

/**
 * How an entry's script file `"$pallet_d/s"` is run. Under sudo the other user
 * cannot read the batch's private directory: the script goes on stdin, the
 * wrapper keeps it in a file of its own (so the script's own commands read
 * /dev/null, not the script), and prints its control records after a mark.
 */
function runCommand(options: ActionOptions, nonce: string): { cmd: string; viaStdin: boolean } {
  if (options.sudoUser) {
    const wrapper = [
      // The batch's change marker is not the other user's to write: changes travel as records.
      'unset PALLET_CHANGED',
      'pallet_f=$(mktemp) && PALLET_CONTROL=$(mktemp) || exit 97',
      'export PALLET_CONTROL',
      'cat > "$pallet_f"',
      'sh "$pallet_f" < /dev/null',
      'pallet_rc=$?',
      `printf '${sudoControlMark(nonce).replace(/\n/g, '\\n')}'`,
      'cat "$PALLET_CONTROL"',
      'rm -f "$pallet_f" "$PALLET_CONTROL"',
      'exit $pallet_rc',
    ].join('; ');
    return { cmd: `sudo -n -u ${shQuote(options.sudoUser)} sh -c ${shQuote(wrapper)}`, viaStdin: true };
  }
  return { cmd: 'pallet_source', viaStdin: false };
}

interface EmitOptions {
  uploadDir?: string | undefined;
  /** Check mode: the check helpers are defined, and a failed action does not stop the batch (the controller decides). */
  check?: boolean | undefined;
  /** The batch tests target flags: after each action its flags are noted in `$pallet_d/flags`. */
  noteFlags?: boolean;
}

/**
 * The batch's own record of target flags, for flag tests decided in the batch: `$pallet_d/flags`, one
 * name per line, seeded with the flags set before the batch. After each action (not run through sudo:
 * its control records come back inside its output) `pallet_note` adds the flags it set with
 * `pallet_set_flag` and, when it reported a change, its `flagOnChanged` flag ($1). Control records are
 * NUL-terminated fields: `tr` makes each field one line (a newline inside a value becomes \001), and
 * awk walks the records by their kinds, so no value can pass for a flag.
 */
function flagHelpers(known: ReadonlyArray<string>): string[] {
  return [
    `: > "$pallet_d/flags" || exit 97`,
    ...(known.length ? [`printf '%s\\n' ${known.map(shQuote).join(' ')} >> "$pallet_d/flags"`] : []),
    `pallet_note() {`,
    `  if [ -s "$pallet_d/m" ] && [ -n "$1" ]; then printf '%s\\n' "$1" >> "$pallet_d/flags"; fi`,
    `  [ -s "$pallet_d/c" ] || return 0`,
    `  tr '\\000\\n' '\\n\\001' < "$pallet_d/c" | awk -v f="$1" '`,
    `    n > 0 { n--; if (w) { print; w = 0 } next }`,
    `    $0 == "C" { if (f != "") print f; next }`,
    `    $0 == "F" { n = 1; w = 1; next }`,
    `    $0 == "V" { n = 2; next }`,
    `    $0 == "W" || $0 == "M" { n = 1; next }`,
    `    $0 == "D" { n = 3; next }`,
    `    { exit }' >> "$pallet_d/flags"`,
    `  return 0`,
    `}`,
  ];
}

/** The command of a flag test: true when one of `flags` is in the batch's record. */
export function flagTestCommand(flags: ReadonlyArray<string>): string {
  return `grep -qxF ${flags.map((f) => `-e ${shQuote(f)}`).join(' ')} "$pallet_d/flags"`;
}

function testsFlags(entries: ReadonlyArray<BatchEntry>): boolean {
  return entries.some((e) => e.kind === 'test' && (e.flags !== undefined || testsFlags(e.then)));
}

function emit(entries: ReadonlyArray<BatchEntry>, nonce: string, out: string[], indent: string, o: EmitOptions): void {
  for (const e of entries) {
    if (e.kind === 'test' && e.flags) {
      out.push(
        `${indent}if ${e.negate ? '! ' : ''}pallet_run ${shQuote(e.key)} /dev/null ${flagTestCommand(e.flags)}; then`,
      );
      emit(e.then, nonce, out, `${indent}  `, o);
      out.push(`${indent}  :`);
      out.push(`${indent}fi`);
      continue;
    }
    const body = e.kind === 'action' ? e.script : e.cond;
    const file = `${prelude(e.options, o.uploadDir, o.check)}\n${body}\n`;
    out.push(`${indent}${writeScript(file)}`);
    const { cmd, viaStdin } = runCommand(e.options, nonce);
    const input = viaStdin ? '"$pallet_d/s"' : '/dev/null';
    if (e.kind === 'action' && o.noteFlags && !e.options.sudoUser) {
      const flag = shQuote(e.options.flagOnChanged ?? '');
      out.push(
        o.check
          ? `${indent}pallet_run ${shQuote(e.key)} ${input} ${cmd} && pallet_note ${flag}`
          : `${indent}pallet_run ${shQuote(e.key)} ${input} ${cmd} || exit 0; pallet_note ${flag}`,
      );
    } else if (e.kind === 'action') {
      out.push(`${indent}pallet_run ${shQuote(e.key)} ${input} ${cmd} || ${o.check ? ':' : 'exit 0'}`);
    } else {
      out.push(`${indent}if ${e.negate ? '! ' : ''}pallet_run ${shQuote(e.key)} ${input} ${cmd}; then`);
      emit(e.then, nonce, out, `${indent}  `, o);
      out.push(`${indent}  :`);
      out.push(`${indent}fi`);
    }
  }
}

/**
 * The script for a batch. It exits 0 unless the batch machinery itself failed.
 * `knownFlags`: the target's flags set before this batch (for flag tests decided in it).
 */
export function buildBatch(
  entries: ReadonlyArray<BatchEntry>,
  nonce: string,
  uploadDir?: string,
  check = false,
  knownFlags: ReadonlyArray<string> = [],
): string {
  const noteFlags = testsFlags(entries);
  const out = [
    // Directories of batches whose shell is gone (a lost connection) are removed: they hold
    // every action's script. Their shell's pid is in their name; only our own are touched.
    'for pallet_o in "${TMPDIR:-/tmp}"/pallet.[0-9]*.????????; do',
    '  [ -d "$pallet_o" ] && [ -O "$pallet_o" ] || continue',
    '  pallet_op=${pallet_o##*/pallet.}; pallet_op=${pallet_op%%.*}',
    '  kill -0 "$pallet_op" 2>/dev/null || rm -rf "$pallet_o"',
    'done',
    `pallet_d=$(mktemp -d "\${TMPDIR:-/tmp}/pallet.$$.XXXXXXXX") || { echo 'pallet: cannot create a temporary directory' >&2; exit 97; }`,
    `trap 'rm -rf "$pallet_d"' EXIT`,
    `trap 'rm -rf "$pallet_d"; exit 129' HUP`,
    // An interrupt (the operation was stopped) lets the running action end, then starts no other.
    `trap 'pallet_stop=1' INT`,
    `trap 'rm -rf "$pallet_d"; exit 143' TERM`,
    `pallet_run() {`,
    `  [ -z "\${pallet_stop:-}" ] || exit 0`,
    `  pallet_k=$1; pallet_in=$2; shift 2`,
    `  : > "$pallet_d/c"; : > "$pallet_d/m"`,
    `  PALLET_CONTROL="$pallet_d/c" PALLET_CHANGED="$pallet_d/m" "$@" < "$pallet_in" > "$pallet_d/o" 2> "$pallet_d/e"`,
    `  pallet_rc=$?`,
    // The last header field: 1 when the action reported a change through $PALLET_CHANGED.
    `  if [ -s "$pallet_d/m" ]; then pallet_m=1; else pallet_m=0; fi`,
    // Nothing printed, nothing reported: the frame needs no process.
    `  if [ -s "$pallet_d/o" ] || [ -s "$pallet_d/e" ] || [ -s "$pallet_d/c" ]; then`,
    // One wc for the three sizes (in the batch's directory, so no path is split into words).
    `    set -- $(cd "$pallet_d" && wc -c o e c)`,
    `    printf '\\n@@PALLET:%s %s %s %s %s %s %s\\n' ${shQuote(nonce)} "$pallet_k" "$pallet_rc" "$1" "$3" "$5" "$pallet_m"`,
    `    cat "$pallet_d/o" "$pallet_d/e" "$pallet_d/c"`,
    `  else`,
    `    printf '\\n@@PALLET:%s %s %s 0 0 0 %s\\n' ${shQuote(nonce)} "$pallet_k" "$pallet_rc" "$pallet_m"`,
    `  fi`,
    `  return $pallet_rc`,
    `}`,
    // An action runs in a subshell: its exit, its syntax errors, variables and traps stay there; it starts
    // without the batch's own variables, as a script run by a new sh would.
    `pallet_source() { ( unset pallet_k pallet_in pallet_rc pallet_m pallet_o pallet_op pallet_stop; export PALLET_CONTROL PALLET_CHANGED; . "$pallet_d/s" ); }`,
  ];
  if (noteFlags) out.push(...flagHelpers(knownFlags));
  emit(entries, nonce, out, '', { uploadDir, check, noteFlags });
  out.push('exit 0');
  return `${out.join('\n')}\n`;
}

const changeRecord = Buffer.from('C\0');

/** At most this much of the bytes between frames is kept (they are a sign of trouble, not data). */
const garbageLimit = 64 * 1024;

/**
 * Incremental parser of a batch's stdout. `push` chunks as they arrive; each
 * complete frame is passed to `onFrame`. `garbage` reports bytes that are not
 * frames (a sign that the batch did not run as built). Chunks of a frame's body
 * are kept as they came and joined once, when the frame is complete: the work
 * is linear in the output.
 */
export class FrameParser {
  private chunks: Buffer[] = [];
  private size = 0;
  private body: { key: string; exit: number; o: number; e: number; c: number; changed: boolean } | undefined;
  private readonly header: Buffer;
  garbage = '';
  /** Bytes copied while joining chunks: linear parsing keeps it near the input's size. */
  copied = 0;

  constructor(
    nonce: string,
    private readonly onFrame: (f: Frame) => void,
  ) {
    this.header = Buffer.from(`\n@@PALLET:${nonce} `);
  }

  private take(): Buffer {
    const b = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
    if (this.chunks.length > 1) this.copied += this.size;
    this.chunks = [];
    this.size = 0;
    return b;
  }

  private keep(b: Buffer): void {
    if (b.length) {
      this.chunks = [b];
      this.size = b.length;
    }
  }

  private addGarbage(b: Buffer): void {
    if (this.garbage.length < garbageLimit)
      this.garbage += b.subarray(0, garbageLimit - this.garbage.length).toString('utf8');
  }

  push(chunk: Buffer): void {
    if (!chunk.length) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
    for (;;) {
      if (this.body) {
        const total = this.body.o + this.body.e + this.body.c;
        if (this.size < total) return;
        const buf = this.take();
        const { key, exit, o, e, changed } = this.body;
        this.body = undefined;
        const ctl = buf.subarray(o + e, total);
        this.onFrame({
          key,
          exit,
          out: buf.subarray(0, o),
          err: buf.subarray(o, o + e),
          // A change marked in the header is the same as a change record.
          ctl: changed ? Buffer.concat([ctl, changeRecord]) : ctl,
        });
        this.keep(buf.subarray(total));
        continue;
      }
      // Looking for a header: what is pending here is a header line (small) or garbage (trimmed).
      if (this.size < this.header.length) return;
      let buf = this.take();
      const at = buf.indexOf(this.header);
      if (at < 0) {
        const cut = buf.length - this.header.length + 1;
        this.addGarbage(buf.subarray(0, cut));
        this.keep(buf.subarray(cut));
        return;
      }
      if (at > 0) {
        this.addGarbage(buf.subarray(0, at));
        buf = buf.subarray(at);
      }
      const eol = buf.indexOf(0x0a, this.header.length);
      if (eol < 0) {
        if (buf.length > this.header.length + 256) {
          // No header is this long: not a frame.
          this.addGarbage(buf.subarray(0, this.header.length));
          this.keep(buf.subarray(this.header.length));
          continue;
        }
        this.keep(buf);
        return;
      }
      const fields = buf.subarray(this.header.length, eol).toString('utf8').trim().split(/\s+/);
      const [key, exit, o, e, c, m = 0] = fields.map((f, i) => (i === 0 ? f : Number(f))) as [
        string,
        number,
        number,
        number,
        number,
        number?,
      ];
      if (
        key === undefined ||
        fields.length > 6 ||
        ![exit, o, e, c].every((n) => Number.isInteger(n) && n >= 0) ||
        (m !== 0 && m !== 1)
      ) {
        this.addGarbage(buf.subarray(0, eol + 1));
        this.keep(buf.subarray(eol + 1));
        continue;
      }
      this.body = { key, exit, o, e, c, changed: m === 1 };
      this.keep(buf.subarray(eol + 1));
    }
  }

  /** Bytes left over at the end (an incomplete frame). */
  finish(): void {
    if (this.body) this.addGarbage(Buffer.from(`(an incomplete frame for ${this.body.key})`));
    if (this.size) this.addGarbage(this.take());
    this.body = undefined;
  }
}

export interface Control {
  changed: boolean;
  flags: string[];
  flagValues: Record<string, string>;
  /** Check mode: one line per change the action would make (`pallet_would`). */
  would?: string[];
  /** Check mode: why the action may change the node (`pallet_may`). */
  may?: string[];
  /** Check mode: file contents before and after (`pallet_diff`), base64. */
  diffs?: Array<{ label: string; old: string; new: string }>;
}

/**
 * Read an action's control records (`C`; `F name`; `V name value`; in check
 * mode `W line`, `M reason`, `D label old new`; fields NUL-terminated).
 * Values may hold any bytes but NUL, newlines included.
 */
export function parseControl(ctl: Buffer): Control {
  const fields = ctl.toString('utf8').split('\0');
  const c: Control = { changed: false, flags: [], flagValues: {} };
  for (let i = 0; i < fields.length;) {
    const kind = fields[i];
    if (kind === 'C') {
      c.changed = true;
      i += 1;
    } else if (kind === 'F' && i + 1 < fields.length - 1) {
      const f = fields[i + 1]!;
      if (f && !c.flags.includes(f)) c.flags.push(f);
      i += 2;
    } else if (kind === 'V' && i + 2 < fields.length - 1) {
      c.flagValues[fields[i + 1]!] = fields[i + 2]!;
      i += 3;
    } else if ((kind === 'W' || kind === 'M') && i + 1 < fields.length - 1) {
      const list = kind === 'W' ? (c.would ??= []) : (c.may ??= []);
      list.push(fields[i + 1]!);
      i += 2;
    } else if (kind === 'D' && i + 3 < fields.length - 1) {
      (c.diffs ??= []).push({ label: fields[i + 1]!, old: fields[i + 2]!, new: fields[i + 3]! });
      i += 4;
    } else {
      break;
    }
  }
  return c;
}

/** Split a sudo action's stdout into its output and its control records (see `runCommand`). */
export function splitSudoControl(out: Buffer, nonce: string): { out: Buffer; ctl: Buffer } {
  const at = out.lastIndexOf(sudoControlMark(nonce));
  if (at < 0) return { out, ctl: Buffer.alloc(0) };
  return { out: out.subarray(0, at), ctl: out.subarray(at + sudoControlMark(nonce).length) };
}
