/** `pallet facts`: what the probe finds on each node (what `facts()` sees at plan time); a table, or JSON lines. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { gatherFacts } from '../../operation/operation.js';
import type { Facts } from '../../script/facts.js';
import { groupSpec, type GroupSpec } from '../../model/specs.js';
import type { ComputeService } from '../../compute/types.js';
import type { Node } from '../../core/types.js';
import { UsageError, EXIT_FAILED, type SelectOpts } from '../common.js';
import type { CliContext } from '../context.js';
import type { CommandKit } from '../kit.js';
import { table } from '../output.js';

const gib = (b: number | undefined) => (b === undefined ? '-' : `${(b / 2 ** 30).toFixed(1)} GiB`);

/** The project's groups, or (without a project file) one group per group name the service's nodes carry. */
async function groupsFor(
  ctx: CliContext,
  compute: ComputeService,
  names: string[],
  o: SelectOpts,
): Promise<GroupSpec[]> {
  try {
    return (await ctx.groups(o, compute, names)).groups;
  } catch (e) {
    if (!(e instanceof UsageError) || !/no project file/.test(e.message)) throw e;
    const nodes = await compute.nodes();
    const all = [...new Set(nodes.flatMap((n) => [n.groupName, ...(n.groupNames ?? [])]))];
    const chosen = names.length || o.group ? all.filter((g) => [...names, ...(o.group ?? [])].includes(g)) : all;
    return chosen.map((g) => groupSpec(g));
  }
}

/** Facts for explain: from a file (`pallet facts --json` output, or a Facts object) or a live node of the service (then the node too). */
export async function factsFor(
  ctx: CliContext,
  o: { facts?: string; factsFrom?: string },
): Promise<{ facts: Facts; node?: Node } | undefined> {
  if (o.facts) {
    let data: unknown;
    try {
      const text = readFileSync(o.facts, 'utf8').trim();
      data = JSON.parse(text.split('\n')[0]!);
    } catch (e) {
      throw new UsageError(
        `--facts ${o.facts}: cannot read it as JSON (${(e as Error).message}); write it with 'pallet facts --json'.`,
      );
    }
    const f = (
      data && typeof data === 'object' && 'facts' in data ? (data as { facts: unknown }).facts : data
    ) as Facts;
    if (!f || typeof f !== 'object' || !('os' in f))
      throw new UsageError(`--facts ${o.facts}: not facts (no 'os' key); write it with 'pallet facts --json'.`);
    return { facts: f };
  }
  if (!o.factsFrom) return undefined;
  const compute = ctx.service();
  const nodes = await compute.nodes();
  const node = nodes.find((n) => n.id === o.factsFrom || n.hostname === o.factsFrom);
  if (!node)
    throw new UsageError(
      `--facts-from ${o.factsFrom}: the service '${compute.name}' has no such node (nodes: ${nodes.map((n) => n.id).join(', ') || 'none'}).`,
    );
  const { facts, result } = await gatherFacts(
    { group: groupSpec(node.groupName), nodes: [node] },
    { compute, user: ctx.adminUser() },
  );
  const f = facts[node.id];
  if (!f) {
    const why =
      result.results.flatMap((r) => r.actions).find((a) => a.error)?.error?.message ?? 'the probe did not run';
    throw new UsageError(`--facts-from ${o.factsFrom}: no facts: ${why}`);
  }
  return { facts: f, node };
}

export function register(program: Command, kit: CommandKit): void {
  kit
    .select(
      program
        .command('facts')
        .description('what the probe finds on each node (what facts() sees at plan time)')
        .argument('[groups...]', 'groups (default: all)'),
    )
    .action(
      kit.act(async (names: string[], o: SelectOpts) => {
        const ctx = kit.ctx();
        const compute = ctx.service();
        const groups = await groupsFor(ctx, compute, names, o);
        const { facts, result } = await gatherFacts(groups, { compute, user: ctx.adminUser() });
        const failed = result.results.filter((r) => !r.ok);
        if (ctx.g.json) {
          for (const [node, f] of Object.entries(facts))
            ctx.write(`${JSON.stringify({ event: 'facts', node, facts: f })}\n`);
        } else {
          const rows = [['NODE', 'OS', 'KERNEL', 'ARCH', 'CPUS', 'MEMORY', 'INIT', 'IN', 'DEFAULT IPV4']];
          for (const [node, f] of Object.entries(facts)) {
            rows.push([
              node,
              [f.os.distribution, f.os.version, f.os.codename].filter(Boolean).join(' ') || '-',
              f.kernel.release ?? '-',
              f.arch ?? '-',
              String(f.cpuCount ?? '-'),
              gib(f.memory.totalBytes),
              f.init ?? '-',
              [f.container, f.vm].filter(Boolean).join('/') || '-',
              f.defaultIpv4?.address ?? '-',
            ]);
          }
          ctx.write(table(rows));
        }
        for (const r of failed) {
          for (const a of r.actions.filter((x) => x.error))
            ctx.note(`${r.node?.id ?? r.groupName}: ${a.error!.message}`);
        }
        for (const s of result.skipped) ctx.note(`${s.node.id} (${s.node.groupName}): ${s.reason}`);
        return failed.length ? EXIT_FAILED : 0;
      }),
    );
}
