/**
 * Secrets are data: a value is marked secret once, and every result, error,
 * event, report and `explain` output built from an operation has it replaced
 * by `<sensitive>`, in every form it travels in (as is, base64, base64 in
 * lines, URL-encoded, shell-quoted, JSON-escaped, and line by line for
 * multi-line content).
 *
 * Marked secret: the admin user's password, sudo password, key passphrase and
 * key text; content of `sensitive: true` files (also rendered templates and
 * their values); debconf passwords; `user({ password })`; and any value given
 * to `secret()` (usable in `scriptEnv`, script text, exec arguments, template
 * values).
 */
import type { User } from './user.js';

export const SENSITIVE = '<sensitive>';

/** Secrets shorter than this cannot be redacted without destroying unrelated output. */
export const minSecretLength = 4;
/** Lines of multi-line secrets at least this long are redacted on their own too. */
const minLineLength = 6;

const registryKey = Symbol.for('pallet.secrets');
type WithRegistry = typeof globalThis & { [registryKey]?: Set<string> };
/** Process-wide (shared by every copy of this module a project may load). */
function registry(): Set<string> {
  const g = globalThis as WithRegistry;
  return (g[registryKey] ??= new Set());
}

/**
 * Mark `value` as secret and return it unchanged: use the result wherever the
 * value goes (`scriptEnv`, a script, exec arguments, template values). From
 * then on it is redacted from every result, error, event and report.
 */
export function secret(value: string): string {
  if (typeof value !== 'string') throw new TypeError('secret(value): value must be a string');
  if (value.length < minSecretLength) {
    throw new Error(`secret(): a secret must have at least ${minSecretLength} characters to be redacted reliably`);
  }
  registry().add(value);
  return value;
}

function base64Lines(s: string): string {
  return Buffer.from(s)
    .toString('base64')
    .replace(/.{1,76}/g, '$&\n')
    .trimEnd();
}

function forms(s: string): string[] {
  const out = [
    s,
    Buffer.from(s).toString('base64'),
    base64Lines(s),
    encodeURIComponent(s),
    s.replace(/'/g, `'\\''`),
    JSON.stringify(s).slice(1, -1),
  ];
  if (s.includes('\n')) {
    for (const line of s.split('\n')) {
      if (line.trim().length >= minLineLength) out.push(line, JSON.stringify(line).slice(1, -1));
    }
  }
  return out;
}

/** The secrets of one operation, and the one function that redacts them. */
export class Secrets {
  private readonly values = new Set<string>();
  private sorted: string[] | undefined;

  constructor(values: Iterable<string | Buffer | undefined> = []) {
    this.add(...values);
  }

  /** Everything secret about a user: passwords, passphrase, key text. */
  static ofUser(u: User | undefined): Secrets {
    return new Secrets(u ? [u.password, u.sudoPassword, u.passphrase, u.privateKey] : []);
  }

  add(...values: Array<string | Buffer | undefined>): this {
    for (const v of values) {
      if (v === undefined) continue;
      const s = Buffer.isBuffer(v) ? v.toString('utf8') : v;
      if (s.length < minSecretLength) continue;
      if (!this.values.has(s)) {
        this.values.add(s);
        this.sorted = undefined;
      }
    }
    return this;
  }

  private variants(): string[] {
    // Both sets only grow: their sizes tell whether the cached list is current.
    const version = this.values.size + registry().size;
    if (!this.sorted || version !== this.version) {
      this.version = version;
      const set = new Set<string>();
      for (const s of [...this.values, ...registry()])
        for (const f of forms(s)) if (f.length >= minSecretLength) set.add(f);
      // Longest first: a secret's base64 is not cut by a shorter secret inside it.
      this.sorted = [...set].sort((a, b) => b.length - a.length);
    }
    return this.sorted;
  }

  private version = -1;

  /** `text` with every form of every secret replaced by `<sensitive>`. */
  redact(text: string): string {
    if (!text) return text;
    let out = text;
    for (const v of this.variants()) if (out.includes(v)) out = out.split(v).join(SENSITIVE);
    return out;
  }

  /** A deep copy of `value` with every string redacted. */
  redactDeep<T>(value: T): T {
    if (typeof value === 'string') return this.redact(value) as T;
    if (Array.isArray(value)) return value.map((v) => this.redactDeep(v)) as T;
    if (
      value &&
      typeof value === 'object' &&
      !Buffer.isBuffer(value) &&
      Object.getPrototypeOf(value) === Object.prototype
    ) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.redactDeep(v)])) as T;
    }
    return value;
  }
}
