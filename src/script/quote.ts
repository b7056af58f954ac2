/**
 * Shell building blocks. Every user value that reaches a shell goes through
 * `shQuote`; nothing in the project pastes a user string into a script any
 * other way.
 */
import { randomBytes } from 'node:crypto';

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
 * A heredoc whose delimiter cannot occur as a line of `body`, so content can
 * never end it early. The delimiter is quoted: the body is taken literally, with
 * no expansion. Returns `{ open, text }` where `open` goes on the command line
 * (`cat <<'X'`) and `text` follows on the next lines (body, then delimiter).
 */
export function heredoc(body: string, prefix = 'PALLET_EOF'): { open: string; text: string } {
  const lines = new Set(body.split('\n'));
  let delimiter: string;
  do {
    delimiter = `${prefix}_${randomBytes(6).toString('hex')}`;
  } while (lines.has(delimiter));
  const content = body.endsWith('\n') || body === '' ? body : `${body}\n`;
  return { open: `<<'${delimiter}'`, text: `${content}${delimiter}` };
}

/**
 * A command that writes exactly `bytes` to `target` (a shell word, already
 * quoted; `onFailure` runs if writing fails). The content travels base64-encoded inside a heredoc, so any bytes
 * survive: no trailing-newline change, no expansion, no early termination.
 */
export function writeBytes(bytes: string | Buffer, target: string, onFailure = ''): string {
  const b64 = base64Lines(bytes);
  const doc = heredoc(b64);
  const tail = onFailure ? ` || ${onFailure}` : '';
  return `base64 -d > ${target} ${doc.open}${tail}\n${doc.text}`;
}

/** The base64 text `writeBytes` embeds for `bytes` (to recognise it, e.g. to hide sensitive content). */
export function base64Lines(bytes: string | Buffer): string {
  return Buffer.from(bytes).toString('base64').replace(/.{1,76}/g, '$&\n');
}

/**
 * A checked block: runs `steps` in order and stops at the first one that fails,
 * echoing `#> name : FAIL` (to stderr) with the failing step's label, or
 * `#> name : SUCCESS` when all pass. The block's exit status is non-zero on
 * failure so the surrounding action fails too.
 */
export function checkedBlock(
  name: string,
  steps: ReadonlyArray<string | { label: string; script: string }>,
): string {
  const lines: string[] = [];
  steps.forEach((step, i) => {
    const label = typeof step === 'string' ? `step ${i + 1}` : step.label;
    const script = typeof step === 'string' ? step : step.script;
    lines.push(
      `{\n${script}\n} || { echo ${shQuote(`#> ${name} : FAIL (${label})`)} >&2; exit 1; }`,
    );
  });
  lines.push(`echo ${shQuote(`#> ${name} : SUCCESS`)}`);
  return lines.join('\n');
}
