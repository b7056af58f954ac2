/**
 * The packages pallet loads on first use, not at start-up (start-up time counts: bench/RESULTS.md, "Start-up";
 * test/entry/bundle.test.ts checks what a start-up loads): each accessor requires its package when called, and
 * Node keeps it after. (The few loaded by `import()` go through ./import-module.ts.)
 */
import { createRequire } from 'node:module';
import type * as Nunjucks from 'nunjucks';

const load = <T>(name: string): T => createRequire(import.meta.url)(name) as T;

export const yaml = () => load<typeof import('yaml')>('yaml');
export const jsdiff = () => load<typeof import('diff')>('diff');
export const ssh2 = () => load<typeof import('ssh2')>('ssh2');
export const sshConfig = () => load<typeof import('ssh-config')>('ssh-config');
export const nunjucks = () => load<typeof Nunjucks>('nunjucks');
