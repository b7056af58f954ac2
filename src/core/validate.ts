/**
 * Input validation at the boundary: a zod schema checks what a user gave, and a
 * mistake becomes a SpecError that names the spec (or action) and the key.
 */
import * as z from 'zod';
import { SpecError } from './errors.js';

// zod compiles a fast path for each object schema the first time it parses (a generated function); a run parses
// most of its schemas a handful of times, so that compile is mostly cost: with it off, a lift of 200 targets took
// 2340-2423 ms of CPU and 137-141 MB, with it on 2573 ms and 147 MB (bench/RESULTS.md, "Start-up and first runs").
z.config({ jitless: true });

/** Validate `value` against `schema`, throwing a SpecError that names the spec and the key. */
export function validate<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const path = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys;
    const at = path ? `${path}.` : '';
    const shape = 'shape' in schema ? Object.keys((schema as unknown as { shape: object }).shape) : [];
    const known = path === '' && shape.length ? ` Known keys: ${shape.join(', ')}.` : '';
    throw new SpecError(
      `${what}: unknown key ${keys.map((k) => `'${at}${k}'`).join(', ')}.${known}`,
      what,
      `${at}${keys[0]}`,
    );
  }
  throw new SpecError(`${what}: invalid value at '${path || '(root)'}': ${issue.message}.`, what, path);
}
