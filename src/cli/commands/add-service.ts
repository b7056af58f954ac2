/** `pallet add-service <name> <provider> [key=value...]`: a service file in ~/.pallet/services (never overwritten). */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { serviceFromConfig, supportedProviders } from '../../compute/index.js';
import { loadConfig, palletHome } from '../../config/config.js';
import { UsageError } from '../common.js';
import type { CommandKit } from '../kit.js';
import { yaml } from '../../core/lazy.js';

export function register(program: Command, kit: CommandKit): void {
  program
    .command('add-service')
    .description('add a service configuration file to ~/.pallet/services (refuses to overwrite)')
    .argument('<name>', 'the service name')
    .argument('<provider>', 'its provider (see pallet providers)')
    .argument('[options...]', 'provider options as key=value (values read as YAML)')
    .action(
      kit.act((name: string, provider: string, options: string[]) => {
        if (!/^[A-Za-z0-9_.-]+$/.test(name))
          throw new UsageError(`'${name}' is not a valid service name (letters, digits, _ . -)`);
        if (!supportedProviders().some((p) => p.name === provider)) {
          throw new UsageError(
            `unknown provider '${provider}'. Providers: ${supportedProviders()
              .map((p) => p.name)
              .join(', ')}`,
          );
        }
        const opts: Record<string, unknown> = { provider };
        for (const kv of options) {
          const i = kv.indexOf('=');
          if (i <= 0) throw new UsageError(`'${kv}' is not key=value`);
          opts[kv.slice(0, i)] = yaml().parse(kv.slice(i + 1)) as unknown;
        }
        const dir = join(palletHome(), 'services');
        const file = join(dir, `${name}.yaml`);
        if (existsSync(file)) throw new UsageError(`${file} already exists; edit it or remove it first`);
        mkdirSync(dir, { recursive: true });
        writeFileSync(file, yaml().stringify({ [name]: opts }), { mode: 0o600 });
        serviceFromConfig(loadConfig(), name);
        kit.ctx().write(`wrote ${file}\n`);
        return 0;
      }),
    );
}
