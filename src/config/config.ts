/**
 * The user configuration: `~/.pallet/config.yaml` (or `config.yml`,
 * `config.json`), the counterpart of the original's `~/.pallet/config.clj`, plus
 * one file per service in `~/.pallet/services/`. `PALLET_HOME` replaces
 * `~/.pallet`.
 *
 *     defaultService: lab
 *     adminUser:
 *       username: admin
 *       privateKeyPath: ~/.ssh/id_ed25519
 *       passphraseEnv: PALLET_KEY_PASSPHRASE     # secrets can come from the environment
 *     environment: { app: { port: 8080 } }
 *     services:
 *       lab:
 *         provider: node-list
 *         nodes:
 *           - { name: web1, group: web, ip: 192.0.2.10, osFamily: debian }
 *         ssh: { hostKeyPolicy: strict }
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { extname, join } from 'node:path';
import * as z from 'zod';
import { SpecError } from '../core/errors.js';
import { validate } from '../core/validate.js';
import { makeUser, type User } from '../core/user.js';
import { palletHome } from './home.js';
import { yaml } from '../core/lazy.js';

export interface ServiceConfig {
  provider: string;
  environment?: Record<string, unknown>;
  [option: string]: unknown;
}

export interface AdminUserConfig {
  username: string;
  privateKeyPath?: string;
  publicKeyPath?: string;
  passphrase?: string;
  /** Read the passphrase from this environment variable. */
  passphraseEnv?: string;
  password?: string;
  passwordEnv?: string;
  sudoPassword?: string;
  sudoPasswordEnv?: string;
  noSudo?: boolean;
  sudoUser?: string;
  stateRoot?: string;
}

export interface PalletConfig {
  defaultService?: string;
  adminUser?: AdminUserConfig;
  environment?: Record<string, unknown>;
  services: Record<string, ServiceConfig>;
  /** Where each service was defined (for messages). */
  sources: Record<string, string>;
}

const serviceSchema = z.looseObject({
  provider: z.string().min(1),
  environment: z.record(z.string(), z.unknown()).optional(),
});

const adminUserSchema = z.strictObject({
  username: z.string().min(1),
  privateKeyPath: z.string().optional(),
  publicKeyPath: z.string().optional(),
  passphrase: z.string().optional(),
  passphraseEnv: z.string().optional(),
  password: z.string().optional(),
  passwordEnv: z.string().optional(),
  sudoPassword: z.string().optional(),
  sudoPasswordEnv: z.string().optional(),
  noSudo: z.boolean().optional(),
  sudoUser: z.string().optional(),
  stateRoot: z.string().optional(),
});

const configSchema = z.strictObject({
  defaultService: z.string().optional(),
  adminUser: adminUserSchema.optional(),
  environment: z.record(z.string(), z.unknown()).optional(),
  services: z.record(z.string(), serviceSchema).optional(),
});

export { palletHome };

// The YAML parser is loaded only when a YAML file is read (core/lazy.ts): most runs have none.
function readStructured(path: string): unknown {
  const text = readFileSync(path, 'utf8');
  try {
    return extname(path) === '.json' ? JSON.parse(text) : yaml().parse(text);
  } catch (e) {
    throw new SpecError(`${path}: cannot parse: ${(e as Error).message}`, path);
  }
}

/** Read the configuration (an empty one when there is no file). */
export function loadConfig(home = palletHome()): PalletConfig {
  const cfg: PalletConfig = { services: {}, sources: {} };
  const main = ['config.yaml', 'config.yml', 'config.json'].map((f) => join(home, f)).find((p) => existsSync(p));
  if (main) {
    const c = validate(configSchema, readStructured(main) ?? {}, main);
    if (c.defaultService) cfg.defaultService = c.defaultService;
    if (c.adminUser) cfg.adminUser = c.adminUser as AdminUserConfig;
    if (c.environment) cfg.environment = c.environment;
    for (const [name, s] of Object.entries(c.services ?? {})) {
      cfg.services[name] = s as ServiceConfig;
      cfg.sources[name] = main;
    }
  }
  const dir = join(home, 'services');
  if (existsSync(dir)) {
    for (const f of readdirSync(dir).sort()) {
      if (!/\.(ya?ml|json)$/.test(f)) continue;
      const path = join(dir, f);
      const m = validate(z.record(z.string(), serviceSchema), readStructured(path) ?? {}, path);
      for (const [name, s] of Object.entries(m)) {
        cfg.services[name] = s as ServiceConfig;
        cfg.sources[name] = path;
      }
    }
  }
  return cfg;
}

const expandHome = (p: string | undefined) => (p === undefined ? undefined : p.replace(/^~(?=$|\/)/, homedir()));

function fromEnv(name: string | undefined, what: string): string | undefined {
  if (!name) return undefined;
  const v = process.env[name];
  if (v === undefined)
    throw new SpecError(`adminUser.${what}: the environment variable ${name} is not set.`, 'adminUser', what);
  return v;
}

/** The admin user the configuration names, if any. */
export function configuredAdminUser(cfg: PalletConfig = loadConfig()): User | undefined {
  const a = cfg.adminUser;
  if (!a) return undefined;
  const opts: Omit<User, 'username'> = {};
  const set = <K extends keyof Omit<User, 'username'>>(k: K, v: User[K] | undefined) => {
    if (v !== undefined) opts[k] = v;
  };
  set('privateKeyPath', expandHome(a.privateKeyPath));
  set('publicKeyPath', expandHome(a.publicKeyPath ?? (a.privateKeyPath ? `${a.privateKeyPath}.pub` : undefined)));
  set('passphrase', a.passphrase ?? fromEnv(a.passphraseEnv, 'passphraseEnv'));
  set('password', a.password ?? fromEnv(a.passwordEnv, 'passwordEnv'));
  set('sudoPassword', a.sudoPassword ?? fromEnv(a.sudoPasswordEnv, 'sudoPasswordEnv'));
  set('noSudo', a.noSudo);
  set('sudoUser', a.sudoUser);
  set('stateRoot', a.stateRoot);
  return makeUser(a.username, opts);
}

/** The name of the service to use: the given one, `defaultService`, else the first configured, else `localhost`. */
export function serviceName(cfg: PalletConfig, name?: string): string {
  if (name) return name;
  return cfg.defaultService ?? Object.keys(cfg.services)[0] ?? 'localhost';
}
