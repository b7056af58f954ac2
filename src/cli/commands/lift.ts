/** `pallet lift`: apply phases (default: configure) to the nodes the groups already have. */
import type { Command } from 'commander';
import { lift } from '../../operation/operation.js';
import { parsePhase, type SelectOpts } from '../common.js';
import { noticeLocalhost } from '../guards.js';
import type { CommandKit } from '../kit.js';
import { dryRun, operationOptions, runOperation } from '../output.js';

export function register(program: Command, kit: CommandKit): void {
  kit.select(program.command('lift').description('apply phases (default: configure) to the nodes the groups already have').argument('[groups...]', 'groups of the project (default: all)')).action(
    kit.act(async (names: string[], o: SelectOpts) => {
      const ctx = kit.ctx();
      const compute = ctx.service();
      const { project, groups } = await ctx.groups(o, compute, names);
      const phases = o.phase?.map(parsePhase);
      if (o.dryRun) return dryRun(ctx, compute, groups, phases, false);
      await noticeLocalhost(ctx, compute, groups, phases);
      return runOperation(ctx, (opts) => lift(groups, opts), operationOptions(compute, project, phases, o), o);
    }),
  );
}
