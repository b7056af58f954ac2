/**
 * Jinja templates as Ansible renders them, for `remoteFile(path, { template: 'x.j2' })`: nunjucks (a Jinja
 * implementation for JavaScript) set up as Ansible's template module sets Jinja, plus the Ansible filters roles use.
 *
 * - Autoescaping off; `trim_blocks` on and `lstrip_blocks` off (Ansible's defaults); a first line
 *   `#jinja2: trim_blocks: False, lstrip_blocks: True` overrides them for its template, as in Ansible.
 * - A template's trailing newline is kept (Ansible keeps it; plain Jinja drops one).
 * - Values print as Python does: `True`, `False`, `None`, `['a', 'b']`, `{'k': 'v'}`.
 * - Python methods on values (`d.items()`, `s.split(',')`, `s.startswith('x')`), `True`/`False`/`None` and list
 *   slices come from nunjucks' Jinja compatibility.
 * - An undefined variable is an error (Ansible's default), naming the file, the line and the expression;
 *   `default`/`d`, `is defined` and `if x` handle a missing value as in Ansible.
 * - Filters: Jinja's built-ins (nunjucks), with `indent` and `join` as Jinja 3 defines them, and Ansible's
 *   `default`/`d`, `bool`, `int`, `to_json`, `to_nice_json`, `to_yaml`, `to_nice_yaml`, `regex_replace`,
 *   `regex_search`, `ternary`, `comment`, `quote`, `basename`, `dirname`, `dict2items`, `items2dict`, `unique`,
 *   `mandatory`, `b64encode`, `b64decode`.
 *
 * Not Jinja: Python's number formatting (`1.0` renders as `1`), `{% macro %}` call blocks with `caller()`
 * arguments, and Jinja extensions (`do`, `loopcontrols`) are not provided; a template that needs them fails with a
 * clear error rather than rendering something else.
 *
 * Why this file is long: Ansible compatibility for Jinja: Python printing, Ansible's filters and its template settings are one
 * table of small functions that a reader compares with Ansible's own (test/fixtures/jinja holds its renders).
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type * as Nunjucks from 'nunjucks';
import { nunjucks as requireNunjucks, yaml } from '../core/lazy.js';

// nunjucks is loaded on first use: most runs render no Jinja template, and start-up time counts.
let loaded: typeof Nunjucks | undefined;
let pythonic = false;

/** A value a Jinja template can read: JSON-like data. */
export type TemplateValue =
  string | number | boolean | null | undefined | TemplateValue[] | { [key: string]: TemplateValue };

export class TemplateError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly line?: number,
  ) {
    super(message);
    this.name = 'TemplateError';
  }
}

/** Python's repr of a value, as Jinja prints lists and dicts. */
export function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'string') {
    const q = v.includes("'") && !v.includes('"') ? '"' : "'";
    const body = v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t');
    return q + (q === "'" ? body.replace(/'/g, "\\'") : body) + q;
  }
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  if (typeof v === 'object')
    return `{${Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`)
      .join(', ')}}`;
  return String(v);
}

/** Python's str() of a value (what `{{ x }}` prints). */
function pyStr(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined || typeof v === 'boolean' || typeof v === 'object') return pyRepr(v);
  return String(v);
}

type Kw = Record<string, unknown> & { __keywords?: true };
/** nunjucks passes keyword arguments as a last object marked `__keywords`. */
function kwargs(args: unknown[]): { pos: unknown[]; kw: Kw } {
  const last = args[args.length - 1] as Kw | undefined;
  if (last && typeof last === 'object' && last.__keywords) return { pos: args.slice(0, -1), kw: last };
  return { pos: args, kw: {} };
}

function truthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (v && typeof v === 'object') return Object.keys(v).length > 0;
  return Boolean(v);
}

/** Jinja 3's `indent(width=4, first=False, blank=False)`. */
function indent(s: unknown, ...args: unknown[]): string {
  const { pos, kw } = kwargs(args);
  const width = (kw.width ?? pos[0] ?? 4) as number | string;
  const first = truthy(kw.first ?? kw.indentfirst ?? pos[1] ?? false);
  const blank = truthy(kw.blank ?? pos[2] ?? false);
  const ind = typeof width === 'string' ? width : ' '.repeat(width);
  const lines = splitlines(`${pyStr(s)}\n`);
  let rv: string;
  if (blank) rv = lines.join(`\n${ind}`);
  else {
    rv = lines.shift() ?? '';
    if (lines.length) rv += `\n${lines.map((l) => (l ? ind + l : l)).join('\n')}`;
  }
  return first ? ind + rv : rv;
}

/** Python's str.splitlines() for \n, \r\n and \r. */
function splitlines(s: string): string[] {
  const out = s.split(/\r\n|\r|\n/);
  if (out[out.length - 1] === '') out.pop();
  return out;
}

/** Python's json.dumps: `, ` and `: ` separators, non-ASCII escaped, optional indent and key order. */
function pyJson(v: unknown, indentBy: number | undefined, sortKeys: boolean, level = 0): string {
  const esc = (s: string) =>
    JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return esc(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  const nl = indentBy === undefined ? '' : `\n${' '.repeat(indentBy * (level + 1))}`;
  const end = indentBy === undefined ? '' : `\n${' '.repeat(indentBy * level)}`;
  const sep = indentBy === undefined ? ', ' : ',';
  if (Array.isArray(v))
    return v.length ? `[${nl}${v.map((x) => pyJson(x, indentBy, sortKeys, level + 1)).join(sep + nl)}${end}]` : '[]';
  let entries = Object.entries(v as Record<string, unknown>);
  if (sortKeys) entries = entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return entries.length
    ? `{${nl}${entries.map(([k, x]) => `${esc(k)}: ${pyJson(x, indentBy, sortKeys, level + 1)}`).join(sep + nl)}${end}}`
    : '{}';
}

/** A YAML dump in PyYAML's block style, as Ansible's `to_nice_yaml` (indent 4, sorted keys) and `to_yaml` print it. */
function pyYaml(v: unknown, opts: { indent: number; sortKeys: boolean; flow: boolean }): string {
  const Y = yaml();
  const sort = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(sort);
    if (x && typeof x === 'object') {
      const e = Object.entries(x as Record<string, unknown>).map(([k, y]) => [k, sort(y)] as const);
      return Object.fromEntries(opts.sortKeys ? e.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) : e);
    }
    return x;
  };
  // Scalars by the yaml package, as PyYAML writes them: plain when YAML 1.1 reads them back as the same string
  // (so 'yes', 'no', '0755' are quoted), single-quoted otherwise.
  const style = {
    version: '1.1',
    indent: opts.indent,
    indentSeq: false,
    lineWidth: 80,
    minContentWidth: 0,
    defaultStringType: 'PLAIN',
    defaultKeyType: 'PLAIN',
    nullStr: 'null',
    trueStr: 'true',
    falseStr: 'false',
    singleQuote: true,
    flowCollectionPadding: false,
  } as const;
  const pad = (n: number) => ' '.repeat(n);
  const scalar = (x: unknown, col: number) => {
    const text = Y.stringify(x, { ...style, lineWidth: Math.max(20, 80 - col) }).replace(/\n$/, '');
    return text.replace(/\n/g, `\n${pad(col + opts.indent)}`);
  };
  const isObj = (x: unknown): x is Record<string, unknown> | unknown[] => x !== null && typeof x === 'object';
  const isColl = (x: unknown): x is Record<string, unknown> | unknown[] => isObj(x) && Object.keys(x).length > 0;
  // to_yaml (PyYAML's default_flow_style=None): a collection of scalars only is written inline ([1, 2], {a: 1}).
  const inline = (x: unknown): boolean =>
    isObj(x) && (!isColl(x) || (opts.flow && Object.values(x).every((c) => !isObj(c))));
  const flow = (x: unknown) => {
    const doc = new Y.Document(x);
    Y.visit(doc, { Collection: (_, n) => void (n.flow = true) });
    return doc.toString({ ...style, lineWidth: 0 }).replace(/\n$/, '');
  };
  // Block style as PyYAML writes it: a list under a key is not indented (its dashes stand at the key's column);
  // a list item that is itself a list or a mapping is padded to the indent after its dash ("-   x: 1" at
  // indent 4), a scalar item is not ("- 1"). Lines of `x` at column `col`; the first one unpadded.
  const block = (x: unknown, col: number): string[] => {
    if (Array.isArray(x)) {
      return x.flatMap((item, i) => {
        const lead = i === 0 ? '' : pad(col);
        if (!isObj(item)) return [`${lead}- ${scalar(item, col + 2)}`];
        if (inline(item)) return [`${lead}- ${flow(item)}`];
        const [first, ...rest] = block(item, col + opts.indent);
        return [`${lead}-${pad(opts.indent - 1)}${first}`, ...rest];
      });
    }
    return Object.entries(x as Record<string, unknown>).flatMap(([k, val], i) => {
      const key = `${i === 0 ? '' : pad(col)}${scalar(k, col)}:`;
      if (!isObj(val)) return [`${key} ${scalar(val, col)}`];
      if (inline(val)) return [`${key} ${flow(val)}`];
      if (Array.isArray(val)) {
        const [first, ...rest] = block(val, col);
        return [key, `${pad(col)}${first}`, ...rest];
      }
      const [first, ...rest] = block(val, col + opts.indent);
      return [key, `${pad(col + opts.indent)}${first}`, ...rest];
    });
  };
  const data = sort(v);
  if (!isObj(data)) return `${scalar(data, 0)}\n`;
  return `${inline(data) ? flow(data) : block(data, 0).join('\n')}\n`;
}

/** Ansible's `comment` filter, plain style by default. */
function comment(text: unknown, ...args: unknown[]): string {
  const { pos, kw } = kwargs(args);
  const style = String(kw.style ?? pos[0] ?? 'plain');
  const styles: Record<string, { beginning?: string; decoration: string; end?: string }> = {
    plain: { decoration: '# ' },
    erlang: { decoration: '% ' },
    c: { decoration: '// ' },
    cblock: { beginning: '/*', decoration: ' * ', end: ' */' },
    xml: { beginning: '<!--', decoration: ' - ', end: '-->' },
  };
  const p = {
    beginning: '',
    prefix: '',
    decoration: '',
    postfix: '',
    end: '',
    newline: '\n',
    prefix_count: 1,
    postfix_count: 1,
    ...styles[style],
    ...kw,
  };
  const deco = String(p.decoration);
  const strip = deco.trimEnd();
  const prefix = String(p.prefix || (p.beginning ? '' : strip));
  const postfix = String(p.postfix || (p.end ? '' : strip));
  const nl = String(p.newline);
  const lines = splitlines(pyStr(text)).map((l) => (l ? deco + l : strip));
  const pre = Number(p.prefix_count) > 0 && prefix ? `${`${prefix}${nl}`.repeat(Number(p.prefix_count))}` : '';
  const post = Number(p.postfix_count) > 0 && postfix ? `${`${nl}${postfix}`.repeat(Number(p.postfix_count))}` : '';
  return `${p.beginning ? `${p.beginning}${nl}` : ''}${pre}${lines.join(nl)}${post}${p.end ? `${nl}${p.end}` : ''}`;
}

/** Python `re` syntax the JavaScript engine reads the same way, with Python's named groups and `\g<1>` references. */
function pyRegex(pattern: string, flags: string): RegExp {
  return new RegExp(pattern.replace(/\(\?P</g, '(?<').replace(/\(\?P=(\w+)\)/g, '\\k<$1>'), flags);
}
const pyReplacement = (r: string) =>
  r.replace(/\\g<(\w+)>/g, (_m, g: string) => (/^\d+$/.test(g) ? `$${g}` : `$<${g}>`)).replace(/\\(\d)/g, '$$$1');

function regexFlags(kw: Kw): string {
  return `${truthy(kw.ignorecase) ? 'i' : ''}${truthy(kw.multiline) ? 'm' : ''}`;
}

const filters: Record<string, (...args: never[]) => unknown> = {
  // `default(other)` with `other` undefined stays undefined (an error when printed, as in Ansible); `default()` is ''.
  default: (v: unknown, ...a: unknown[]) =>
    v === undefined || (truthy(a[1] ?? false) && !truthy(v)) ? (a.length ? a[0] : '') : v,
  d: (v: unknown, ...a: unknown[]) =>
    v === undefined || (truthy(a[1] ?? false) && !truthy(v)) ? (a.length ? a[0] : '') : v,
  bool: (v: unknown) =>
    typeof v === 'string'
      ? ['yes', 'on', '1', 'true', 'y', 't'].includes(v.trim().toLowerCase())
      : v === 1 || v === true,
  int: (v: unknown, d: unknown = 0) => {
    const n = typeof v === 'number' ? Math.trunc(v) : Number.parseInt(String(v), 10);
    return Number.isNaN(n) ? d : n;
  },
  indent: (s: unknown, ...a: unknown[]) => indent(s, ...a),
  join: (v: unknown, ...args: unknown[]) => {
    const { pos, kw } = kwargs(args);
    const d = String(kw.d ?? pos[0] ?? '');
    const attr = (kw.attribute ?? pos[1]) as string | undefined;
    const list = Array.isArray(v)
      ? v
      : typeof v === 'string'
        ? [...v]
        : v && typeof v === 'object'
          ? Object.keys(v)
          : [];
    return list.map((x) => pyStr(attr ? (x as Record<string, unknown>)[attr] : x)).join(d);
  },
  to_json: (v: unknown, ...args: unknown[]) => {
    const { kw } = kwargs(args);
    return pyJson(v, kw.indent as number | undefined, truthy(kw.sort_keys));
  },
  to_nice_json: (v: unknown, ...args: unknown[]) => {
    const { kw } = kwargs(args);
    return pyJson(v, (kw.indent as number | undefined) ?? 4, kw.sort_keys === undefined ? true : truthy(kw.sort_keys));
  },
  to_yaml: (v: unknown, ...args: unknown[]) => {
    const { kw } = kwargs(args);
    return pyYaml(v, {
      indent: (kw.indent as number | undefined) ?? 2,
      sortKeys: kw.sort_keys === undefined ? true : truthy(kw.sort_keys),
      flow: true,
    });
  },
  to_nice_yaml: (v: unknown, ...args: unknown[]) => {
    const { pos, kw } = kwargs(args);
    return pyYaml(v, {
      indent: (kw.indent ?? pos[0] ?? 4) as number,
      sortKeys: kw.sort_keys === undefined ? true : truthy(kw.sort_keys),
      flow: false,
    });
  },
  regex_replace: (v: unknown, pattern: unknown = '', replacement: unknown = '', ...args: unknown[]) => {
    const { kw } = kwargs(args);
    return pyStr(v).replace(pyRegex(String(pattern), `g${regexFlags(kw)}`), pyReplacement(String(replacement)));
  },
  regex_search: (v: unknown, pattern: unknown = '', ...args: unknown[]) => {
    const { kw } = kwargs(args);
    const m = pyRegex(String(pattern), regexFlags(kw)).exec(pyStr(v));
    return m ? m[0] : undefined;
  },
  ternary: (v: unknown, t: unknown, f: unknown, none?: unknown) =>
    v === null && none !== undefined ? none : truthy(v) ? t : f,
  comment: (t: unknown, ...a: unknown[]) => comment(t, ...a),
  // Python's shlex.quote: a word of safe characters stays as it is, anything else is single-quoted.
  quote: (v: unknown) => {
    const t = pyStr(v);
    return t !== '' && !/[^\w@%+=:,./-]/.test(t) ? t : `'${t.replace(/'/g, `'"'"'`)}'`;
  },
  basename: (v: unknown) => basename(pyStr(v)),
  dirname: (v: unknown) => dirname(pyStr(v)),
  dict2items: (v: unknown, ...args: unknown[]) => {
    const { kw } = kwargs(args);
    return Object.entries((v ?? {}) as Record<string, unknown>).map(([k, x]) => ({
      [String(kw.key_name ?? 'key')]: k,
      [String(kw.value_name ?? 'value')]: x,
    }));
  },
  items2dict: (v: unknown, ...args: unknown[]) => {
    const { kw } = kwargs(args);
    return Object.fromEntries(
      ((v ?? []) as Array<Record<string, unknown>>).map((i) => [
        String(i[String(kw.key_name ?? 'key')]),
        i[String(kw.value_name ?? 'value')],
      ]),
    );
  },
  unique: (v: unknown) =>
    Array.isArray(v) ? v.filter((x, i) => v.findIndex((y) => pyRepr(y) === pyRepr(x)) === i) : v,
  mandatory: (v: unknown, msg?: unknown) => {
    if (v === undefined) throw new Error(String(msg ?? 'Mandatory variable not defined.'));
    return v;
  },
  b64encode: (v: unknown) => Buffer.from(pyStr(v), 'utf8').toString('base64'),
  b64decode: (v: unknown) => Buffer.from(pyStr(v), 'base64').toString('utf8'),
};

/**
 * An Ansible-style variable whose value holds Jinja (`"{{ other_var }}/conf.d"`): rendered when a template first
 * reads it, as Ansible does, with the variables of the same render (a value that is one `{{ expression }}` keeps
 * the expression's type: a list stays a list).
 */
class LazyVar {
  private state: 'new' | 'busy' | 'done' = 'new';
  private value: unknown;
  constructor(
    readonly name: string,
    private readonly raw: unknown,
    private readonly scope: () => Record<string, unknown>,
  ) {}
  get(): unknown {
    if (this.state === 'done') return this.value;
    if (this.state === 'busy') throw new Error(`the variable '${this.name}' refers to itself`);
    this.state = 'busy';
    try {
      this.value = templateValue(this.raw, this.scope(), this.name);
    } finally {
      this.state = this.state === 'busy' ? 'new' : this.state;
    }
    this.state = 'done';
    return this.value;
  }
}

/** Variables whose value rendered to undefined, and that value (for the error when one is printed). */
const undefinedWhy = new Map<string, string>();

const hasJinja = (s: string) => s.includes('{{') || s.includes('{%');

function templateValue(v: unknown, scope: Record<string, unknown>, name: string): unknown {
  if (typeof v === 'string') {
    if (!hasJinja(v)) return v;
    const single = /^\{\{([\s\S]*)\}\}$/.exec(v.trim());
    if (single && !single[1]!.includes('}}')) {
      const box: { v?: unknown } = {};
      renderJinja(`{{ (${single[1]}) | __pallet_capture }}`, { ...scope, __pallet_box: box }, `variable ${name}`, {
        trimBlocks: false,
      });
      // Undefined stays undefined (`is defined` is false); printing it then says why.
      if (box.v === undefined) undefinedWhy.set(name, v.trim());
      return box.v;
    }
    return renderJinja(v, scope, `variable ${name}`, { trimBlocks: false });
  }
  if (Array.isArray(v)) return v.map((x) => templateValue(x, scope, name));
  if (v && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, templateValue(x, scope, name)]));
  return v;
}

const needsTemplating = (v: unknown): boolean =>
  typeof v === 'string'
    ? hasJinja(v)
    : Array.isArray(v)
      ? v.some(needsTemplating)
      : v !== null && typeof v === 'object'
        ? Object.values(v).some(needsTemplating)
        : false;

/**
 * A render context from Ansible-style variables (templated when read) and plain `values` (data, never templated;
 * they win over variables of the same name).
 */
export function jinjaContext(
  vars: Record<string, unknown>,
  values: Record<string, unknown> = {},
): Record<string, unknown> {
  const ctx: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(vars)) ctx[k] = needsTemplating(v) ? new LazyVar(k, v, () => ctx) : v;
  Object.assign(ctx, values);
  return ctx;
}

/** Ansible's `version` test: `x is version('8.0', '>=')` (dotted numbers compared part by part). */
function versionTest(a: unknown, b: unknown, op: unknown = 'eq'): boolean {
  const parts = (v: unknown) =>
    String(v)
      .split(/[.-]/)
      .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  const x = parts(a);
  const y = parts(b);
  let c = 0;
  for (let i = 0; i < Math.max(x.length, y.length) && c === 0; i++) {
    const p = x[i] ?? 0;
    const q = y[i] ?? 0;
    c =
      typeof p === 'number' && typeof q === 'number'
        ? Math.sign(p - q)
        : String(p) < String(q)
          ? -1
          : String(p) > String(q)
            ? 1
            : 0;
  }
  const ops: Record<string, boolean> = {
    '<': c < 0,
    lt: c < 0,
    '<=': c <= 0,
    le: c <= 0,
    '>': c > 0,
    gt: c > 0,
    '>=': c >= 0,
    ge: c >= 0,
    '==': c === 0,
    '=': c === 0,
    eq: c === 0,
    '!=': c !== 0,
    '<>': c !== 0,
    ne: c !== 0,
  };
  const r = ops[String(op)];
  if (r === undefined) throw new Error(`version test: unknown operator '${String(op)}'`);
  return r;
}

/** Python's `==` on data: lists and dicts compare by value, a string never equals a number. */
export function pyEquals(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if ((a === null || a === undefined) && (b === null || b === undefined)) return true;
  if (typeof a === 'boolean' || typeof b === 'boolean')
    return Number(a) === Number(b) && typeof a !== 'string' && typeof b !== 'string';
  if (Array.isArray(a) || Array.isArray(b))
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => pyEquals(x, b[i]));
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return (
      ka.length === kb.length &&
      ka.every((k) => k in b && pyEquals((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
    );
  }
  return false;
}

interface Token {
  type: string;
  value: string;
  lineno: number;
  colno: number;
}
interface AstNode {
  typename: string;
  lineno: number;
  colno: number;
  ops?: Array<{ type: string; expr: AstNode }>;
  expr?: AstNode;
  value?: unknown;
  left?: AstNode;
  right?: AstNode;
  name?: AstNode;
  args?: { children: AstNode[] };
}
interface ParserLike {
  peekToken(): Token | null;
  parseCompare(): AstNode;
  parsePrimary(): AstNode;
  skipSymbol(s: string): boolean;
}
interface CompilerLike {
  _emit(s: string): void;
  compile(n: AstNode, frame: unknown): void;
}
interface Internals {
  parser: { Parser: { prototype: ParserLike & { parseIs(): AstNode } } };
  compiler: {
    Compiler: {
      prototype: CompilerLike & {
        compileCompare(n: AstNode, f: unknown): void;
        compileIs(n: AstNode, f: unknown): void;
      };
    };
  };
  nodes: Record<string, new (...a: unknown[]) => AstNode>;
  runtime: Record<string, unknown>;
}

/**
 * Two places where nunjucks' grammar is not Jinja's: a test's single argument without parentheses
 * (`x is sameas true`, `n is divisibleby 3`), and `==`/`!=` that compare lists and dicts by value (`x != []`).
 */
function patchGrammar(n: Internals): void {
  const P = n.parser.Parser.prototype;
  const nodes = n.nodes;
  P.parseIs = function (this: ParserLike) {
    let node = this.parseCompare();
    if (this.skipSymbol('is')) {
      const not = this.skipSymbol('not');
      let test = this.parseCompare();
      const next = this.peekToken();
      if (test.typename === 'Symbol' && next && ['string', 'int', 'float', 'boolean', 'none'].includes(next.type)) {
        const arg = this.parsePrimary();
        test = new nodes.FunCall!(test.lineno, test.colno, test, new nodes.NodeList!(arg.lineno, arg.colno, [arg]));
      }
      node = new nodes.Is!(node.lineno, node.colno, node, test);
      if (not) node = new nodes.Not!(node.lineno, node.colno, node);
    }
    return node;
  };
  const C = n.compiler.Compiler.prototype;
  // nunjucks joins a test's arguments without commas (`x is version('8.0', '>=')` does not compile).
  C.compileIs = function (this: CompilerLike, node: AstNode, frame: unknown) {
    const right = node.right!;
    this._emit(`env.getTest(${JSON.stringify(String(right.name ? right.name.value : right.value))}).call(context, `);
    this.compile(node.left!, frame);
    for (const a of right.args?.children ?? []) {
      this._emit(', ');
      this.compile(a, frame);
    }
    this._emit(') === true');
  };
  const compare = C.compileCompare;
  n.runtime.pyEquals = pyEquals;
  C.compileCompare = function (this: CompilerLike, node: AstNode, frame: unknown) {
    const op = node.ops?.length === 1 ? node.ops[0]! : undefined;
    if (!op || !['==', '!=', '===', '!=='].includes(op.type)) return compare.call(this, node, frame);
    this._emit(op.type.startsWith('!') ? '!runtime.pyEquals(' : 'runtime.pyEquals(');
    this.compile(node.expr!, frame);
    this._emit(', ');
    this.compile(op.expr, frame);
    this._emit(')');
  };
}

function nunjucks(): typeof Nunjucks {
  if (loaded) return loaded;
  const n = requireNunjucks() as typeof Nunjucks & { runtime: Record<string, (...a: unknown[]) => unknown> };
  n.installJinjaCompat();
  patchGrammar(n as unknown as Internals);
  const lookup = n.runtime.contextOrFrameLookup!;
  n.runtime.contextOrFrameLookup = function (this: unknown, ...a: unknown[]) {
    const v = lookup.apply(this, a);
    return v instanceof LazyVar ? v.get() : v;
  };
  // Python's printing, only while pallet renders (other users of nunjucks in the process are not affected).
  const rt = n.runtime;
  const suppress = rt.suppressValue!;
  // Ansible's finalize prints a None as nothing (an undefined variable stays an error).
  rt.suppressValue = (val: unknown, autoescape: unknown) =>
    pythonic && val === null
      ? ''
      : pythonic && typeof val !== 'string' && val !== undefined
        ? pyStr(val)
        : suppress(val, autoescape);
  const ensureDefined = rt.ensureDefined!;
  rt.ensureDefined = (val: unknown, ...at: unknown[]) => (pythonic && val === null ? val : ensureDefined(val, ...at));
  loaded = n;
  return n;
}

export interface JinjaOptions {
  trimBlocks?: boolean;
  lstripBlocks?: boolean;
}

/** `#jinja2: trim_blocks: False, lstrip_blocks: True` on a template's first line, as Ansible reads it. */
function header(text: string): { body: string; opts: JinjaOptions } {
  const m = /^#jinja2:([^\n]*)\n?/.exec(text);
  if (!m) return { body: text, opts: {} };
  const opts: JinjaOptions = {};
  for (const part of m[1]!.split(',')) {
    const [k, v] = part.split(':').map((s) => s.trim());
    const on = /^(true|yes|1)$/i.test(v ?? '');
    if (k === 'trim_blocks') opts.trimBlocks = on;
    else if (k === 'lstrip_blocks') opts.lstripBlocks = on;
  }
  return { body: text.slice(m[0].length), opts };
}

/** The expression around a position (1-based line and column), for an error message. */
function expressionAt(text: string, line: number, col: number): string | undefined {
  const l = text.split('\n')[line - 1];
  if (l === undefined) return undefined;
  const open = l.lastIndexOf('{{', Math.max(0, col));
  const close = l.indexOf('}}', Math.max(open, 0));
  if (open < 0 || close < 0) return undefined;
  return l.slice(open + 2, close).trim();
}

/**
 * Render Jinja `text` (read from `file`, for messages and relative includes) with `context`. Throws a
 * `TemplateError` naming the file, the line and the expression.
 */
export function renderJinja(
  text: string,
  context: Record<string, unknown>,
  file: string,
  opts: JinjaOptions = {},
): string {
  const n = nunjucks();
  const { body, opts: own } = header(text);
  const o = { trimBlocks: true, lstripBlocks: false, ...opts, ...own };
  const env = new n.Environment(new n.FileSystemLoader(dirname(resolve(file)), { noCache: true }), {
    autoescape: false,
    throwOnUndefined: true,
    trimBlocks: o.trimBlocks,
    lstripBlocks: o.lstripBlocks,
  });
  for (const [name, f] of Object.entries(filters)) env.addFilter(name, f as (...a: unknown[]) => unknown);
  const tests = env as unknown as { addTest(name: string, f: (...a: unknown[]) => boolean): void };
  tests.addTest('none', (v: unknown) => v === null);
  tests.addTest('version', versionTest as (...a: unknown[]) => boolean);
  tests.addTest('version_compare', versionTest as (...a: unknown[]) => boolean);
  env.addFilter('__pallet_capture', function (this: { ctx: Record<string, unknown> }, v: unknown) {
    (this.ctx.__pallet_box as { v?: unknown }).v = v;
    return '';
  });
  tests.addTest('boolean', (v: unknown) => typeof v === 'boolean');
  const was = pythonic;
  pythonic = true;
  try {
    // Jinja's trim_blocks also removes the newline after a comment (nunjucks' only after block tags).
    // Jinja drops the template's last newline (keep_trailing_newline off); Ansible then pads the result to as many
    // trailing newlines as the template has.
    const trimmed = body.replace(/\r?\n$/, '');
    const source = o.trimBlocks ? trimmed.replace(/#\}\r?\n/g, '#}') : trimmed;
    const out = new n.Template(source, env, resolve(file), true).render({
      ansible_managed: 'Ansible managed',
      ...context,
    });
    const ends = (t: string) => /\n*$/.exec(t)![0].length;
    return out + '\n'.repeat(Math.max(0, ends(body) - ends(out)));
  } catch (e) {
    const err = e as Error & { lineno?: number; colno?: number };
    const raw = err.message.replace(/^\([^)]*\)\s*/, '').replace(/\s*\[Line \d+, Column \d+\]/, '');
    const m = /\[Line (\d+), Column (\d+)\]/.exec(err.message);
    const line = m ? Number(m[1]) : err.lineno;
    const col = m ? Number(m[2]) : err.colno;
    // Line numbers count the header line Ansible strips too.
    const shown = line !== undefined && body !== text ? line + 1 : line;
    const expr = line !== undefined && col !== undefined ? expressionAt(body, line, col) : undefined;
    const why = expr ? undefinedWhy.get(expr.trim()) : undefined;
    const what =
      /attempted to output null or undefined value/.test(raw) && expr
        ? `'${expr}' is undefined${why ? ` (its value '${why}' is undefined)` : ''}`
        : raw.replace(/^(\s*(Template render error:|\([^)\n]*\)))*\s*(TemplateError:\s*|Error:\s*)?/, '').trim();
    throw new TemplateError(`${file}${shown !== undefined ? `:${shown}` : ''}: ${what}`, file, shown);
  } finally {
    pythonic = was;
  }
}

/** Render the Jinja template file at `path`. */
export function renderJinjaFile(path: string, context: Record<string, unknown>, opts: JinjaOptions = {}): string {
  return renderJinja(readFileSync(path, 'utf8'), context, path, opts);
}
