/** `pallet help [command]`. */
import type { Command } from 'commander';
import { UsageError } from '../common.js';
import type { CommandKit } from '../kit.js';

export function register(program: Command, kit: CommandKit): void {
  program
    .command('help')
    .description('show help for a command')
    .argument('[command]')
    .action(
      kit.act((name?: string) => {
        const cmd = name ? program.commands.find((c) => c.name() === name) : undefined;
        if (name && !cmd) throw new UsageError(`unknown command '${name}'`);
        (cmd ?? program).outputHelp();
        return 0;
      }),
    );
}
