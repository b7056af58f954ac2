/**
 * Packages: `pkg`, `packages`, `minimalPackages`, `packageManager`,
 * `packageSource`, `debconfSetSelections`, `installDeb`, `addRpm`.
 */
export { packageSourceChangedFlag, fileWithContent, type ConffilePolicy } from './common.js';
export {
  pkg,
  packages,
  minimalPackages,
  packageScript,
  type PackageAction,
  type PackageOptions,
  type PackagesByManager,
} from './pkg.js';
export { packageManager, type PackageManagerAction, type PackageManagerOptions } from './manager.js';
export { packageSource, type AptSource, type PackageSourceOptions, type YumSource } from './source/index.js';
export { debconfSetSelections, type DebconfSelection } from './debconf.js';
export { addRpm, installDeb } from './local.js';
