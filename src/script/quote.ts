/**
 * Shell building blocks. Every user value that reaches a shell goes through
 * `shQuote`; nothing in the project pastes a user string into a script any
 * other way.
 */
import { createHash } from 'node:crypto';

/**
 * Quote one value as a single POSIX shell word. The result is always wrapped in
 * single quotes, so no character inside it is special (`$`, backticks, `\`,
 * newlines, globs); a single quote is written as `'\''`. NUL cannot be
 * represented in a shell word and is rejected.
 */
export function shQuote(value: string | number): string {
  const s = String(value);
  if (s.includes('\0')) {
    throw new Error('A shell argument cannot contain a NUL byte');
  }
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Quote every value and join them with spaces: a safe argument list. */
export function shArgs(values: ReadonlyArray<string | number>): string {
  return values.map(shQuote).join(' ');
}

/**
 * Is `delimiter` safe for a heredoc holding `lines`? It must not be a line of
 * the body, and no line may start with a prefix of it followed by a byte >= 0x80:
 * dash 0.5.12 (Debian's and Ubuntu's /bin/sh) drops that byte
 * (`printf "cat <<'EOF'\nE\303\251\nEOF\n" | dash` prints `E\251`).
 */
export function safeDelimiter(lines: ReadonlyArray<string>, delimiter: string): boolean {
  for (const line of lines) {
    if (line === delimiter) return false;
    let k = 0;
    while (k < line.length && k < delimiter.length && line[k] === delimiter[k]) k++;
    if (k > 0 && k < line.length && line.charCodeAt(k) >= 0x80) return false;
  }
  return true;
}

const delimiterStarts = 'PQRSTUVWXYZABCDEFGHIJKLMNOabcdefghijklmnopqrstuvwxyz';

/**
 * A heredoc whose delimiter cannot end it early and that no shell quirk can
 * make alter a byte (see `safeDelimiter`). The delimiter is derived from the
 * content, so the same body always gives the same text (explain output can be
 * diffed). `quoted` (default) takes the body literally; `quoted: false` lets
 * the shell expand `$VARS` and `$(...)` in it. Returns `{ open, text }` where
 * `open` goes on the command line (`cat <<'X'`) and `text` follows on the next
 * lines (body, then delimiter).
 */
export function heredoc(body: string, opts: { quoted?: boolean } = {}): { open: string; text: string } {
  const lines = body.split('\n');
  const hash = createHash('sha256').update(body).digest('hex');
  for (let i = 0; i < 1000; i++) {
    const start = i === 0 ? 'PALLET_EOF' : `${delimiterStarts[i % delimiterStarts.length]}_PALLET_EOF`;
    const delimiter = `${start}_${(i === 0 ? hash : createHash('sha256').update(`${i}:${hash}`).digest('hex')).slice(0, 12)}`;
    if (!safeDelimiter(lines, delimiter)) continue;
    const content = body.endsWith('\n') || body === '' ? body : `${body}\n`;
    const open = opts.quoted === false ? `<<${delimiter}` : `<<'${delimiter}'`;
    return { open, text: `${content}${delimiter}` };
  }
  throw new Error('heredoc: no safe delimiter found for this content');
}

/**
 * A command that writes exactly `bytes` to `target` (a shell word, already
 * quoted; `onFailure` runs if writing fails). The content travels base64-encoded inside a heredoc, so any bytes
 * survive: no trailing-newline change, no expansion, no early termination.
 */
export function writeBytes(
  bytes: string | Buffer,
  target: string,
  onFailure = '',
  opts: { plain?: boolean; quotes?: boolean } = {},
): string {
  const tail = onFailure ? ` || ${onFailure}` : '';
  // `plain`: ASCII without NUL (the bytes no shell treats specially inside single quotes) is written by the
  // builtin printf as one single-quoted word, byte for byte and without a process. Unless `quotes` allows
  // them, text with a single quote is not: then every substring of the text (a secret registered elsewhere)
  // appears in the script as itself, so redaction still finds it. Scripts (`quotes`) are never shown whole.
  if (opts.plain && isPlainText(bytes, opts.quotes)) {
    const text = Buffer.isBuffer(bytes) ? bytes.toString('latin1') : bytes;
    return `printf '%s' ${shQuote(text)} > ${target}${tail}`;
  }
  // Base64 lines are plain ASCII without '_': a constant delimiter is safe and stable.
  const doc = { open: "<<'PALLET_B64'", text: `${base64Lines(bytes)}PALLET_B64` };
  return `base64 -d > ${target} ${doc.open}${tail}\n${doc.text}`;
}

/** Whether `writeBytes(bytes, target, f, { plain: true, quotes })` writes with the builtin printf (no program). */
export function isPlainText(bytes: string | Buffer, quotes = false): boolean {
  const text = Buffer.isBuffer(bytes) ? bytes.toString('latin1') : bytes;
  return (quotes ? /^[\x01-\x7f]*$/ : /^[\x01-\x26\x28-\x7f]*$/).test(text);
}

/** The base64 text `writeBytes` embeds for `bytes` (to recognise it, e.g. to hide sensitive content). */
export function base64Lines(bytes: string | Buffer): string {
  return Buffer.from(bytes)
    .toString('base64')
    .replace(/.{1,76}/g, '$&\n');
}

/**
 * A checked block: runs `steps` in order and stops at the first one that fails,
 * echoing `#> name : FAIL` (to stderr) with the failing step's label, or
 * `#> name : SUCCESS` when all pass. The block's exit status is non-zero on
 * failure so the surrounding action fails too.
 */
export function checkedBlock(name: string, steps: ReadonlyArray<string | { label: string; script: string }>): string {
  const lines: string[] = [];
  steps.forEach((step, i) => {
    const label = typeof step === 'string' ? `step ${i + 1}` : step.label;
    const script = typeof step === 'string' ? step : step.script;
    lines.push(`{\n${script}\n} || { echo ${shQuote(`#> ${name} : FAIL (${label})`)} >&2; exit 1; }`);
  });
  lines.push(`echo ${shQuote(`#> ${name} : SUCCESS`)}`);
  return lines.join('\n');
}
