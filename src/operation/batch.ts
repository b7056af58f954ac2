/**
 * A batch: many actions of one target sent as ONE shell script, in one round
 * trip, that still reports one result per action.
 *
 * Each action's script is written to a file in a private temporary directory
 * (through a heredoc that its content cannot end) and run with its own `sh`,
 * so a syntax error or an `exit` in one action cannot disturb the others. After
 * each action the batch prints a frame on stdout:
 *
 *     \n@@PALLET:<nonce> <key> <exit> <stdout bytes> <stderr bytes>\n<stdout><stderr>
 *
 * and stops at the first action that fails. Shell conditions (`planWhen` with a
 * string) become `if` blocks around their actions, so they cost no extra round
 * trip. Frames are parsed as they stream in.
 */
import { randomBytes } from 'node:crypto';
import { heredoc, shQuote } from '../script/quote.js';
import type { ActionOptions } from '../plan/types.js';

export type BatchEntry =
  | { kind: 'action'; key: string; script: string; options: ActionOptions }
  | { kind: 'test'; key: string; cond: string; negate: boolean; options: ActionOptions; then: BatchEntry[] };

export interface Frame {
  key: string;
  exit: number;
  out: Buffer;
  err: Buffer;
}

export function newNonce(): string {
  return randomBytes(8).toString('hex');
}

/** Markers an action prints to report a change, a flag or a value; removed from its output. */
export function markers(nonce: string) {
  return {
    changed: `PALLET-CHANGED:${nonce}`,
  };
}

/** The helper functions every action script can call. */
export function prelude(nonce: string, options: ActionOptions, uploadDir?: string): string {
  const lines = [
    ...(uploadDir ? [`PALLET_UPLOADS=${shQuote(uploadDir)}`] : []),
    `pallet_changed() { printf '%s\\n' ${shQuote(markers(nonce).changed)}; }`,
    `pallet_set_flag() { printf 'SETFLAG: %s :SETFLAG\\n' "$1"; }`,
    `pallet_set_value() { printf 'SETVALUE: %s %s :SETVALUE\\n' "$1" "$2"; }`,
  ];
  if (options.scriptDir) {
    const d = shQuote(options.scriptDir);
    lines.push(`mkdir -p ${d} && cd ${d} || { echo "pallet: cannot use script directory "${d} >&2; exit 1; }`);
  }
  if (options.scriptTrace) lines.push('set -x');
  return lines.join('\n');
}

function runCommand(options: ActionOptions): { cmd: string; viaStdin: boolean } {
  const env = Object.entries(options.scriptEnv ?? {}).map(([k, v]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`invalid environment variable name ${JSON.stringify(k)}`);
    return shQuote(`${k}=${v}`);
  });
  const envPart = env.length ? `env ${env.join(' ')} ` : '';
  if (options.sudoUser) {
    return { cmd: `sudo -n -u ${shQuote(options.sudoUser)} ${envPart}sh -s`, viaStdin: true };
  }
  return { cmd: `${envPart}sh "$pallet_d/s"`, viaStdin: false };
}

function emit(entries: ReadonlyArray<BatchEntry>, nonce: string, out: string[], indent: string, uploadDir?: string): void {
  for (const e of entries) {
    const body = e.kind === 'action' ? e.script : e.cond;
    const file = `${prelude(nonce, e.options, uploadDir)}\n${body}\n`;
    const doc = heredoc(file);
    out.push(`${indent}cat > "$pallet_d/s" ${doc.open}\n${doc.text}`);
    const { cmd, viaStdin } = runCommand(e.options);
    const input = viaStdin ? '"$pallet_d/s"' : '/dev/null';
    if (e.kind === 'action') {
      out.push(`${indent}pallet_run ${shQuote(e.key)} ${input} ${cmd} || exit 0`);
    } else {
      out.push(`${indent}if ${e.negate ? '! ' : ''}pallet_run ${shQuote(e.key)} ${input} ${cmd}; then`);
      emit(e.then, nonce, out, `${indent}  `, uploadDir);
      out.push(`${indent}  :`);
      out.push(`${indent}fi`);
    }
  }
}

/** The script for a batch. It exits 0 unless the batch machinery itself failed. */
export function buildBatch(entries: ReadonlyArray<BatchEntry>, nonce: string, uploadDir?: string): string {
  const out = [
    `pallet_d=$(mktemp -d "\${TMPDIR:-/tmp}/pallet.XXXXXXXX") || { echo 'pallet: cannot create a temporary directory' >&2; exit 97; }`,
    `trap 'rm -rf "$pallet_d"' EXIT`,
    `pallet_run() {`,
    `  pallet_k=$1; pallet_in=$2; shift 2`,
    `  "$@" < "$pallet_in" > "$pallet_d/o" 2> "$pallet_d/e"`,
    `  pallet_rc=$?`,
    `  printf '\\n@@PALLET:%s %s %s %s %s\\n' ${shQuote(nonce)} "$pallet_k" "$pallet_rc" $(wc -c < "$pallet_d/o") $(wc -c < "$pallet_d/e")`,
    `  cat "$pallet_d/o" "$pallet_d/e"`,
    `  return $pallet_rc`,
    `}`,
  ];
  emit(entries, nonce, out, '', uploadDir);
  out.push('exit 0');
  return `${out.join('\n')}\n`;
}

/**
 * Incremental parser of a batch's stdout. `push` chunks as they arrive; each
 * complete frame is passed to `onFrame`. `garbage` reports bytes that are not
 * frames (a sign that the batch did not run as built).
 */
export class FrameParser {
  private buf: Buffer = Buffer.alloc(0);
  private readonly header: Buffer;
  garbage = '';

  constructor(
    nonce: string,
    private readonly onFrame: (f: Frame) => void,
  ) {
    this.header = Buffer.from(`\n@@PALLET:${nonce} `);
  }

  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      if (this.buf.length < this.header.length) return;
      if (!this.buf.subarray(0, this.header.length).equals(this.header)) {
        const at = this.buf.indexOf(this.header);
        const cut = at < 0 ? Math.max(0, this.buf.length - this.header.length) : at;
        this.garbage += this.buf.subarray(0, cut).toString('utf8');
        this.buf = this.buf.subarray(cut);
        if (at < 0) return;
      }
      const eol = this.buf.indexOf(0x0a, this.header.length);
      if (eol < 0) return;
      const fields = this.buf.subarray(this.header.length, eol).toString('utf8').trim().split(/\s+/);
      const [key, exit, o, e] = fields;
      const olen = Number(o);
      const elen = Number(e);
      if (key === undefined || !Number.isInteger(olen) || !Number.isInteger(elen)) {
        this.garbage += this.buf.subarray(0, eol + 1).toString('utf8');
        this.buf = this.buf.subarray(eol + 1);
        continue;
      }
      const start = eol + 1;
      if (this.buf.length < start + olen + elen) return;
      this.onFrame({
        key,
        exit: Number(exit),
        out: this.buf.subarray(start, start + olen),
        err: this.buf.subarray(start + olen, start + olen + elen),
      });
      this.buf = this.buf.subarray(start + olen + elen);
    }
  }

  /** Bytes left over at the end (an incomplete frame). */
  finish(): void {
    if (this.buf.length) this.garbage += this.buf.toString('utf8');
    this.buf = Buffer.alloc(0);
  }
}

/** Take the change marker, flags and values out of an action's stdout. */
export function extractMarkers(
  out: string,
  nonce: string,
): { out: string; changed: boolean; flags: string[]; flagValues: Record<string, string> } {
  const mark = markers(nonce).changed;
  let changed = false;
  const flags: string[] = [];
  const flagValues: Record<string, string> = {};
  let text = out.split(`${mark}\n`).join('');
  if (text !== out) changed = true;
  text = text.replace(/SETFLAG: (\S+) :SETFLAG\n?/g, (_m, f: string) => {
    if (!flags.includes(f)) flags.push(f);
    return '';
  });
  text = text.replace(/SETVALUE: (\S+) (.*?) :SETVALUE\n?/g, (_m, f: string, v: string) => {
    flagValues[f] = v;
    return '';
  });
  return { out: text, changed, flags, flagValues };
}
