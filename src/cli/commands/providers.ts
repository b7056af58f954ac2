/** `pallet providers`: the compute providers configurations can use. */
import type { Command } from 'commander';
import { supportedProviders } from '../../compute/index.js';
import type { CommandKit } from '../kit.js';
import { table } from '../output.js';

export function register(program: Command, kit: CommandKit): void {
  program
    .command('providers')
    .description('list the compute providers configurations can use')
    .action(
      kit.act(() => {
        const ctx = kit.ctx();
        if (ctx.g.json)
          for (const p of supportedProviders()) ctx.write(`${JSON.stringify({ event: 'provider', ...p })}\n`);
        else
          ctx.write(table([['PROVIDER', 'DESCRIPTION'], ...supportedProviders().map((p) => [p.name, p.description])]));
        return 0;
      }),
    );
}
