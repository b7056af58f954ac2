/**
 * Getting a compute service by name.
 */
import { localhostService } from './localhost.js';
import type { ComputeService } from './types.js';

/**
 * The compute service called `name`, or the default one. With no
 * configuration, the default is the localhost service.
 */
export function computeService(name?: string): ComputeService {
  if (name === undefined || name === 'localhost') return localhostService();
  throw new Error(`Could not find a configuration for service '${name}'. Known services: localhost.`);
}
