/** `pallet down`: remove every node of the project's groups (shown first, confirmed). */
import type { Command } from 'commander';
import { converge } from '../../operation/operation.js';
import { withCount } from '../../model/specs.js';
import type { SelectOpts } from '../common.js';
import { confirmDestroy } from '../guards.js';
import type { CommandKit } from '../kit.js';
import { dryRun, operationOptions, runOperation } from '../output.js';

export function register(program: Command, kit: CommandKit): void {
  kit.select(program.command('down').description("remove every node of the project's groups")).action(
    kit.act(async (o: SelectOpts) => {
      const ctx = kit.ctx();
      const compute = ctx.service();
      const { project, groups } = await ctx.groups(o, compute);
      const zero = groups.map((g) => withCount(g, 0));
      if (o.dryRun) return dryRun(ctx, compute, zero, [], true);
      await confirmDestroy(ctx, compute, zero, o);
      return runOperation(ctx, (opts) => converge(zero, opts), operationOptions(compute, project, undefined, o), o);
    }),
  );
}
