/** `pallet config`: write the commented user configuration ~/.pallet/config.yaml (never overwritten). */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { palletHome } from '../../config/config.js';
import { UsageError } from '../common.js';
import type { CommandKit } from '../kit.js';
import { CONFIG_TEMPLATE } from '../templates.js';

export function register(program: Command, kit: CommandKit): void {
  program
    .command('config')
    .description('create the user configuration file ~/.pallet/config.yaml (refuses to overwrite)')
    .action(
      kit.act(() => {
        const home = palletHome();
        const file = join(home, 'config.yaml');
        if (['config.yaml', 'config.yml', 'config.json'].some((f) => existsSync(join(home, f))))
          throw new UsageError(`a configuration already exists in ${home}`);
        mkdirSync(home, { recursive: true });
        writeFileSync(file, CONFIG_TEMPLATE, { mode: 0o600 });
        kit.ctx().write(`wrote ${file}\n`);
        return 0;
      }),
    );
}
