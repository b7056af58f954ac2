/**
 * Python literals as Ansible's INI inventory reads values (`ast.literal_eval`): numbers, quoted strings,
 * `True`/`False`/`None`, lists, tuples, sets and dicts, with a trailing `# comment` allowed. Anything else
 * (`web`, `10.0.0.5`, `/srv/app`) is not a literal, and Ansible keeps it as the string it is: `undefined` here.
 */

type Value = unknown;

class NotLiteral extends Error {}

function fail(): never {
  throw new NotLiteral();
}

/** Parse `text` as a Python literal; `undefined` when it is not one (the caller keeps the raw string). */
export function pythonLiteral(text: string): { value: Value } | undefined {
  let i = 0;
  const s = text;
  const skip = () => {
    for (;;) {
      while (i < s.length && /[ \t\r\n\f\v]/.test(s[i]!)) i++;
      if (s[i] === '#') {
        while (i < s.length && s[i] !== '\n') i++;
        continue;
      }
      return;
    }
  };
  const escapes: Record<string, string> = {
    n: '\n',
    t: '\t',
    r: '\r',
    '\\': '\\',
    "'": "'",
    '"': '"',
    a: '\x07',
    b: '\b',
    f: '\f',
    v: '\v',
    '\n': '',
  };
  const stringLit = (): string => {
    let raw = false;
    let bytes = false;
    const pre = /^([rRbBuU]{1,2})(?=['"])/.exec(s.slice(i));
    if (pre) {
      const p = pre[1]!.toLowerCase();
      if (!/^(r|b|u|rb|br)$/.test(p)) fail();
      raw = p.includes('r');
      bytes = p.includes('b');
      i += pre[1]!.length;
    }
    if (bytes) fail(); // Ansible turns bytes into text, but no inventory needs them: keep the raw string.
    const q = s[i]!;
    const triple = s.startsWith(q.repeat(3), i);
    const end = triple ? q.repeat(3) : q;
    i += end.length;
    let out = '';
    for (;;) {
      if (i >= s.length) fail();
      if (s.startsWith(end, i)) {
        i += end.length;
        return out;
      }
      const c = s[i]!;
      if (c === '\n' && !triple) fail();
      if (c === '\\' && !raw) {
        const n = s[i + 1];
        if (n === undefined) fail();
        if (n === 'x' && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 2, i + 4))) {
          out += String.fromCharCode(Number.parseInt(s.slice(i + 2, i + 4), 16));
          i += 4;
        } else if (n === 'u' && /^[0-9a-fA-F]{4}$/.test(s.slice(i + 2, i + 6))) {
          out += String.fromCharCode(Number.parseInt(s.slice(i + 2, i + 6), 16));
          i += 6;
        } else if (n !== undefined && n in escapes) {
          out += escapes[n];
          i += 2;
        } else {
          out += c; // Python keeps an unknown escape as it is
          i++;
        }
        continue;
      }
      if (c === '\\' && raw) {
        out += s.slice(i, i + 2);
        i += 2;
        continue;
      }
      out += c;
      i++;
    }
  };
  const number = (): number => {
    const m =
      /^(?:0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|(?:\d[\d_]*)?\.?\d[\d_]*(?:[eE][+-]?\d+)?\.?|\d[\d_]*\.)/.exec(
        s.slice(i),
      );
    if (!m) fail();
    const t = m![0];
    if (/_$|__|_\.|\._/.test(t)) fail();
    const clean = t.replace(/_/g, '');
    i += t.length;
    if (/^0[xX]/.test(clean)) return Number.parseInt(clean.slice(2), 16);
    if (/^0[oO]/.test(clean)) return Number.parseInt(clean.slice(2), 8);
    if (/^0[bB]/.test(clean)) return Number.parseInt(clean.slice(2), 2);
    // Python 3 refuses leading zeros on a non-zero integer (`0022`): not a literal.
    if (/^0\d/.test(clean) && !/[.eE]/.test(clean) && !/^0+$/.test(clean)) fail();
    if (/[a-zA-Z_]/.test(s[i] ?? '')) fail();
    return Number(clean);
  };
  let sawComma = false;
  const seq = (close: string): Value[] => {
    const items: Value[] = [];
    let comma = false;
    skip();
    while (s[i] !== close) {
      items.push(value());
      skip();
      if (s[i] === ',') {
        comma = true;
        i++;
        skip();
      } else if (s[i] !== close) fail();
    }
    i++;
    sawComma = comma;
    return items;
  };
  const value = (): Value => {
    skip();
    const c = s[i];
    if (c === undefined) fail();
    if (c === '[') {
      i++;
      return seq(']');
    }
    if (c === '(') {
      i++;
      const items = seq(')');
      // `(x)` is x; a tuple needs a comma (or is empty).
      return items.length === 1 && !sawComma ? items[0] : items;
    }
    if (c === '{') {
      i++;
      skip();
      if (s[i] === '}') {
        i++;
        return {};
      }
      const first = value();
      skip();
      if (s[i] !== ':') {
        // A set: Ansible's coercion makes it a list.
        const rest = s[i] === ',' ? (i++, seq('}')) : s[i] === '}' ? (i++, []) : fail();
        return [first, ...(rest as Value[])];
      }
      const out: Record<string, Value> = {};
      let key = first;
      for (;;) {
        if (typeof key !== 'string' && typeof key !== 'number' && typeof key !== 'boolean' && key !== null) fail();
        i++; // ':'
        out[String(key)] = value();
        skip();
        if (s[i] === ',') {
          i++;
          skip();
        }
        if (s[i] === '}') {
          i++;
          return out;
        }
        key = value();
        skip();
        if (s[i] !== ':') fail();
      }
    }
    if (c === "'" || c === '"' || /^[rRbBuU]{1,2}['"]/.test(s.slice(i, i + 3))) {
      let out = stringLit();
      // Adjacent literals concatenate ('a' 'b').
      for (;;) {
        const save = i;
        skip();
        if (s[i] === "'" || s[i] === '"') out += stringLit();
        else {
          i = save;
          return out;
        }
      }
    }
    if (c === '-' || c === '+') {
      i++;
      skip();
      const n = value();
      if (typeof n !== 'number') fail();
      return c === '-' ? -(n as number) : n;
    }
    if (/[0-9.]/.test(c)) return number();
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.slice(i))?.[0];
    if (word === 'True' || word === 'False' || word === 'None') {
      i += word.length;
      return word === 'True' ? true : word === 'False' ? false : null;
    }
    return fail();
  };
  try {
    const v = value();
    skip();
    if (i !== s.length) return undefined;
    return { value: v };
  } catch (e) {
    if (e instanceof NotLiteral) return undefined;
    throw e;
  }
}
