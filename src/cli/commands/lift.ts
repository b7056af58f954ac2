/** `pallet lift`: apply phases (default: configure) to the nodes the groups already have. */
import type { Command } from 'commander';
import { lift } from '../../operation/operation.js';
import { parsePhase, UsageError, type SelectOpts } from '../common.js';

/** `k/n`: slice k (from 0) of n. */
export function parseSlice(v: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(v);
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || count < 1 || index >= count)
    throw new UsageError(`--slice ${v}: give k/n with 0 <= k < n (for example 0/4 ... 3/4)`);
  return { index, count };
}
import { noticeLocalhost } from '../guards.js';
import type { CommandKit } from '../kit.js';
import { dryRun, operationOptions, runOperation } from '../output.js';

export function register(program: Command, kit: CommandKit): void {
  kit
    .select(
      program
        .command('lift')
        .description('apply phases (default: configure) to the nodes the groups already have')
        .argument('[groups...]', 'groups of the project (default: all)'),
    )
    .option(
      '--slice <k/n>',
      'only slice k of n of the nodes (0 <= k < n, by a stable hash of the node id): one controller of several (docs/scale.md)',
      parseSlice,
    )
    .action(
      kit.act(async (names: string[], o: SelectOpts & { slice?: { index: number; count: number } }) => {
        const ctx = kit.ctx();
        const compute = ctx.service();
        const { project, groups } = await ctx.groups(o, compute, names);
        const phases = o.phase?.map(parsePhase);
        if (o.dryRun) return dryRun(ctx, compute, groups, phases, false);
        await noticeLocalhost(ctx, compute, groups, phases);
        return runOperation(
          ctx,
          (opts) => lift(groups, opts),
          { ...operationOptions(compute, project, phases, o), ...(o.slice ? { slice: o.slice } : {}) },
          o,
        );
      }),
    );
}
