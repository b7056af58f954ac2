/**
 * Compute services by name: the providers this package knows, and the
 * services configured in `~/.pallet` (see config/config.ts).
 */
import { homedir } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import * as z from 'zod';
import { loadConfig, serviceName, type PalletConfig, type ServiceConfig } from '../config/config.js';
import { SpecError } from '../core/errors.js';
import { deepMerge } from '../core/merge.js';
import { validate } from '../core/validate.js';
import { dockerService } from './docker.js';
import { localhostService } from './localhost.js';
import { nodeListService, type NodeListEntry, type NodeListTuple } from './node-list.js';
import type { ComputeService } from './types.js';

/** Makes a service from its configuration (name, options, environment). */
export type ProviderFactory = (
  name: string,
  options: Record<string, unknown>,
  environment: Record<string, unknown> | undefined,
) => ComputeService;

// Shared by every copy of this module in the process (see plan/session.ts).
const providersKey = Symbol.for('pallet.providers');
const providers = ((globalThis as Record<symbol, unknown>)[providersKey] ??= new Map()) as Map<
  string,
  { factory: ProviderFactory; description: string }
>;

/** Make a provider available to configuration files under `name`. */
export function registerProvider(name: string, description: string, factory: ProviderFactory): void {
  providers.set(name, { factory, description });
}

/** The providers that configurations can name, with a line about each. */
export function supportedProviders(): Array<{ name: string; description: string }> {
  return [...providers.entries()].map(([name, p]) => ({ name, description: p.description }));
}

registerProvider('localhost', 'this machine, through a local shell', (name, o, env) => {
  const opts = validate(
    z.strictObject({
      groupName: z.string().optional(),
      cwd: z.string().optional(),
      bootstrapped: z.boolean().optional(),
    }),
    o,
    `service '${name}' (localhost)`,
  );
  return { ...localhostService({ ...opts, ...(env ? { environment: env } : {}) }), name };
});

registerProvider('node-list', 'servers that already exist, reached over SSH', (name, o, env) => {
  const opts = validate(
    z.strictObject({
      nodes: z.array(z.unknown()).optional(),
      inventory: z.string().min(1).optional(),
      ssh: z
        .strictObject({
          hostKeyPolicy: z.enum(['strict', 'accept-new', 'insecure']).optional(),
          knownHostsPath: z.string().optional(),
          connectTimeoutMs: z.number().int().positive().optional(),
          keepaliveIntervalMs: z.number().int().positive().optional(),
          keepaliveCountMax: z.number().int().positive().optional(),
          commandTimeoutMs: z.number().int().positive().optional(),
          sshConfigPath: z.union([z.string(), z.literal(false)]).optional(),
          agent: z.union([z.string(), z.literal(false)]).optional(),
        })
        .optional(),
    }),
    o,
    `service '${name}' (node-list)`,
  );
  if (!opts.nodes && !opts.inventory)
    throw new SpecError(
      `service '${name}' (node-list): give its nodes (nodes: [...]) or an Ansible inventory (inventory: path).`,
      name,
    );
  return nodeListService((opts.nodes ?? []) as Array<NodeListEntry | NodeListTuple>, {
    name,
    ...(opts.inventory ? { inventory: opts.inventory } : {}),
    ...(opts.ssh ? { ssh: opts.ssh } : {}),
    ...(env ? { environment: env } : {}),
  });
});

registerProvider('docker', 'containers running sshd, on a Docker (or podman) engine', (name, o, env) => {
  const opts = validate(
    z.strictObject({
      socketPath: z.string().optional(),
      host: z.string().optional(),
      port: z.number().int().positive().optional(),
      protocol: z.enum(['http', 'https']).optional(),
      ca: z.string().optional(),
      cert: z.string().optional(),
      key: z.string().optional(),
      hostAddress: z.string().optional(),
      init: z.union([z.string(), z.array(z.string())]).optional(),
      sshWaitSeconds: z.number().positive().optional(),
      project: z.string().optional(),
      ssh: z
        .strictObject({
          connectTimeoutMs: z.number().int().positive().optional(),
          keepaliveIntervalMs: z.number().int().positive().optional(),
          keepaliveCountMax: z.number().int().positive().optional(),
          commandTimeoutMs: z.number().int().positive().optional(),
        })
        .optional(),
    }),
    o,
    `service '${name}' (docker)`,
  );
  return dockerService({ ...opts, name, ...(env ? { environment: env } : {}) });
});

/** Build the configured service `name` (or the default one). */
export function serviceFromConfig(cfg: PalletConfig, name?: string): ComputeService {
  const chosen = serviceName(cfg, name);
  const inventory = /^ansible:(.+)$/.exec(chosen)?.[1];
  if (inventory && !cfg.services[chosen]) {
    // An Ansible inventory used as it is: a node-list service, host keys checked, the configuration's environment.
    return nodeListService([], {
      name: chosen,
      inventory,
      ...(cfg.environment ? { environment: cfg.environment } : {}),
    });
  }
  let sc: ServiceConfig | undefined = cfg.services[chosen];
  if (sc && typeof sc.inventory === 'string' && !isAbsolute(sc.inventory) && cfg.sources[chosen]) {
    // A relative inventory path is read from the configuration file's folder, as ansible.cfg's is.
    sc = { ...sc, inventory: resolve(dirname(cfg.sources[chosen]!), sc.inventory.replace(/^~(?=$|\/)/, homedir())) };
  }
  if (!sc) {
    if (chosen === 'localhost') return localhostService(cfg.environment ? { environment: cfg.environment } : {});
    const known = [...new Set([...Object.keys(cfg.services), 'localhost'])].join(', ');
    throw new SpecError(
      `Could not find a configuration for service '${chosen}'. Known services: ${known} (or ansible:PATH for an Ansible inventory).`,
      chosen,
    );
  }
  const p = providers.get(sc.provider);
  if (!p) {
    throw new SpecError(
      `Service '${chosen}' (${cfg.sources[chosen] ?? 'configuration'}) names the provider '${sc.provider}', which is not available. ` +
        `Providers: ${[...providers.keys()].join(', ')}.`,
      chosen,
      'provider',
    );
  }
  const { provider: _p, environment, ...options } = sc;
  const env = deepMerge(cfg.environment ?? {}, (environment as Record<string, unknown> | undefined) ?? {});
  return p.factory(chosen, options, Object.keys(env).length ? env : undefined);
}

/**
 * The compute service called `name`, or the default one, from the user
 * configuration (`~/.pallet`, or `PALLET_HOME`). With no configuration, the
 * default is the localhost service.
 */
export function computeService(name?: string): ComputeService {
  return serviceFromConfig(loadConfig(), name);
}
