/** `debconfSetSelections`: preseed debconf answers before the packages that ask them are installed. */
import * as z from 'zod';
import type { ChangeOptions } from '../../plan/types.js';
import { defineAction } from '../../plan/action.js';
import { shQuote } from '../../script/quote.js';
import { validate } from '../../core/validate.js';
import { pkgName } from './common.js';

export interface DebconfSelection {
  package: string;
  question: string;
  type: string;
  value: string;
}

const selection = z.strictObject({
  package: pkgName,
  question: z.string().regex(/^[A-Za-z0-9._/:-]+$/),
  type: z.enum(['string', 'boolean', 'select', 'multiselect', 'password', 'note', 'text', 'title']),
  value: z.string().regex(/^[^\n]*$/, 'a single line'),
});

/** `{ line: 'package question type value' }` (as debconf-get-selections prints it), or the four fields. */
function parseSelection(sel: DebconfSelection | { line: string }): DebconfSelection {
  if ('line' in sel) {
    const line = validate(z.strictObject({ line: z.string() }), sel, 'debconfSetSelections').line;
    const m = /^\s*(\S+)\s+(\S+)\s+(\S+)(?:[ \t](.*))?$/.exec(line);
    if (!m) throw new Error(`debconfSetSelections: '${line}' is not 'package question type value'`);
    return validate(
      selection,
      { package: m[1], question: m[2], type: m[3], value: m[4] ?? '' },
      'debconfSetSelections',
    );
  }
  return validate(selection, sel, 'debconfSetSelections');
}

/**
 * Preseed a debconf answer. Each answer is compared first (passwords with
 * debconf's password database, the value on stdin, never on a command line),
 * so a second run changes nothing.
 *
 * @example
 * ```ts
 * debconfSetSelections({ package: 'tzdata', question: 'tzdata/Areas', type: 'select', value: 'Europe' });
 * ```
 */
export const debconfSetSelections = defineAction<
  [selection: DebconfSelection | { line: string }, opts?: ChangeOptions],
  DebconfSelection
>({
  name: 'debconfSetSelections',
  execution: 'aggregated',
  optionsParam: 1,
  alwaysBefore: ['pkg'],
  parse: parseSelection,
  summary: (args) => `debconfSetSelections ${args.map((a) => a.question).join(' ')}`,
  script: (args, ctx) => {
    const lines = args.map((a) => {
      const entry = `${a.package} ${a.question} ${a.type} ${a.value}`;
      // printf is a shell builtin: the value never appears on a command line on the node.
      const write = ctx.check
        ? `  pallet_would ${shQuote(`preseed ${a.package} ${a.question}`)}`
        : `  printf '%s\\n' ${shQuote(entry)} | debconf-set-selections || exit 1`;
      const set = [write, '  pallet_changed', 'fi'];
      if (a.type === 'password') {
        // debconf-show hides passwords: compare with debconf's password database, the value on stdin.
        const same = `awk -v q=${shQuote(a.question)} 'NR == FNR { want = $0; next } /^Name: / { name = substr($0, 7) } /^Value: / && name == q && substr($0, 8) == want { found = 1 } END { exit !found }'`;
        return [
          `if ! printf '%s\\n' ${shQuote(a.value)} | ${same} - /var/cache/debconf/passwords.dat 2>/dev/null; then`,
          ...set,
        ].join('\n');
      }
      // debconf-show prints "  question: value" (with "*" when seen); compare before writing.
      const shown = `  ${a.question}: ${a.value}`;
      return [
        `if ! debconf-show ${shQuote(a.package)} 2>/dev/null | sed 's/^\\*/ /' | grep -qxF ${shQuote(shown)}; then`,
        ...set,
      ].join('\n');
    });
    const passwords = args.filter((a) => a.type === 'password').map((a) => a.value);
    return {
      script: lines.join('\n'),
      changes: 'reported',
      checked: true,
      ...(passwords.length ? { sensitive: passwords } : {}),
    };
  },
});
