/** `pallet init`: write a harmless, commented starter pallet.config.ts (never overwritten). */
import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../common.js';
import type { CommandKit } from '../kit.js';
import { PROJECT_TEMPLATE } from '../templates.js';

export function register(program: Command, kit: CommandKit): void {
  program
    .command('init')
    .description('write a commented starter pallet.config.ts (refuses to overwrite)')
    .action(
      kit.act(() => {
        const file = resolve('pallet.config.ts');
        if (existsSync(file)) throw new UsageError(`${file} already exists`);
        writeFileSync(file, PROJECT_TEMPLATE, { flag: 'wx' });
        kit.ctx().write(`wrote ${file}\nnext: pallet explain, then pallet up (or pallet -P <service> up)\n`);
        return 0;
      }),
    );
}
