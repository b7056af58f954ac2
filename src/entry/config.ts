/**
 * `pallet/config`: reading the user configuration (`~/.pallet`) and project files as the `pallet` command does.
 * A project file does not need this module (`computeService()` and `configuredAdminUser()` are in `pallet`).
 */
export {
  loadConfig,
  palletHome,
  serviceName,
  type PalletConfig,
  type ServiceConfig,
  type AdminUserConfig,
} from '../config/config.js';
export { serviceFromConfig } from '../compute/index.js';
export { loadProject, findProjectFile, projectGroups, type ProjectSelection } from '../project/load.js';
