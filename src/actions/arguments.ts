/**
 * Validation shared by the file actions.
 */
import * as z from 'zod';
import { normaliseMode } from '../script/fs.js';

/** An octal mode such as '0644' (or a number). */
export const modeSchema = z.union([z.string(), z.number()]).refine(
  (m) => {
    try {
      normaliseMode(m);
      return true;
    } catch {
      return false;
    }
  },
  { message: "expected an octal mode such as '0644'" },
);

/** A path given to an action: a non-empty string without NUL. */
export function checkPath(what: string, path: unknown): string {
  if (typeof path !== 'string' || path === '' || path.includes('\0')) {
    throw new Error(`${what}: the path must be a non-empty string`);
  }
  return path;
}
