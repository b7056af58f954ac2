/**
 * What the image (dist/pallet.cjs, built by scripts/build.ts and run by src/boot/load.ts) holds: every public
 * entry of the package and the CLI, in one script, so each module is in it once.
 */
export * as index from '../index.js';
export * as providers from '../entry/providers.js';
export * as report from '../entry/report.js';
export * as config from '../entry/config.js';
export { run } from '../cli/main.js';
