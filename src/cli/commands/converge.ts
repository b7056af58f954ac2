/** `pallet converge web=2 db=1`: converge the given groups to the given counts. */
import type { Command } from 'commander';
import { converge } from '../../operation/operation.js';
import { withCount } from '../../model/specs.js';
import { parsePhase, UsageError, type SelectOpts } from '../common.js';
import { confirmDestroy, noticeLocalhost } from '../guards.js';
import type { CommandKit } from '../kit.js';
import { dryRun, operationOptions, runOperation } from '../output.js';

/** `group=count` pairs; a malformed one is a usage error. */
export function parseCounts(pairs: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const p of pairs) {
    const m = /^([^=]+)=(\d+)$/.exec(p);
    if (!m) throw new UsageError(`'${p}' is not group=count (e.g. web=2)`);
    counts.set(m[1]!, Number(m[2]));
  }
  return counts;
}

export function register(program: Command, kit: CommandKit): void {
  kit
    .select(
      program
        .command('converge')
        .description('converge the given groups to the given counts')
        .argument('<group=count...>', 'e.g. web=2 db=1'),
    )
    .action(
      kit.act(async (pairs: string[], o: SelectOpts) => {
        const ctx = kit.ctx();
        const compute = ctx.service();
        const counts = parseCounts(pairs);
        const { project, groups } = await ctx.groups({ ...o, group: [...counts.keys()] }, compute);
        const withCounts = groups.map((g) => withCount(g, counts.get(g.groupName) ?? g.count ?? 1));
        const phases = o.phase?.map(parsePhase);
        if (o.dryRun) return dryRun(ctx, compute, withCounts, phases, true);
        await confirmDestroy(ctx, compute, withCounts, o);
        await noticeLocalhost(ctx, compute, withCounts, phases);
        return runOperation(
          ctx,
          (opts) => converge(withCounts, opts),
          operationOptions(compute, project, phases, o),
          o,
        );
      }),
    );
}
