/** `pallet up`: converge the project's groups to their counts, bootstrap new nodes, configure all. */
import type { Command } from 'commander';
import { converge } from '../../operation/operation.js';
import { withCount } from '../../model/specs.js';
import { parsePhase, type SelectOpts } from '../common.js';
import { confirmDestroy, noticeLocalhost } from '../guards.js';
import type { CommandKit } from '../kit.js';
import { dryRun, operationOptions, runOperation } from '../output.js';

export function register(program: Command, kit: CommandKit): void {
  kit
    .select(
      program
        .command('up')
        .description("converge the project's groups to their counts (default 1), bootstrap new nodes, configure all"),
    )
    .action(
      kit.act(async (o: SelectOpts) => {
        const ctx = kit.ctx();
        const compute = ctx.service();
        const { project, groups } = await ctx.groups(o, compute);
        const phases = o.phase?.map(parsePhase);
        if (o.dryRun) return dryRun(ctx, compute, groups, phases, true);
        await confirmDestroy(
          ctx,
          compute,
          groups.map((g) => withCount(g, g.count ?? 1)),
          o,
        );
        await noticeLocalhost(ctx, compute, groups, phases);
        return runOperation(ctx, (opts) => converge(groups, opts), operationOptions(compute, project, phases, o), o);
      }),
    );
}
