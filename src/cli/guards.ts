/**
 * What the CLI shows and asks before work that cannot be taken back or that
 * runs on the user's own machine.
 */
import { createInterface } from 'node:readline';
import type { ComputeService } from '../compute/types.js';
import { convergePlan } from '../operation/converge-plan.js';
import type { PhaseRef } from '../operation/operation.js';
import { matchTargets } from '../operation/targets.js';
import { explainPlan } from '../report/explain.js';
import type { GroupSpec } from '../model/specs.js';
import { phaseName, UsageError, type SelectOpts } from './common.js';
import type { CliContext } from './context.js';

/** Action kinds that change the machine beyond files, as the localhost note names them. */
const SYSTEM_CHANGES: Record<string, string> = {
  pkg: 'installs or removes packages',
  packages: 'installs or removes packages',
  packageManager: 'runs the package manager',
  installDeb: 'installs packages',
  addRpm: 'installs packages',
  minimalPackages: 'installs packages',
  packageSource: 'adds package sources',
  debconfSetSelections: 'changes package settings',
  service: 'controls services',
  user: 'changes users',
  group: 'changes groups',
};

/**
 * On the localhost service, or on nodes of a node list reached through this machine's shell, the phases run
 * on this very machine: say so before running any that would install packages, control services or change users.
 */
export async function noticeLocalhost(
  ctx: CliContext,
  compute: ComputeService,
  groups: GroupSpec[],
  phases: PhaseRef[] | undefined,
): Promise<void> {
  if (ctx.g.json) return;
  // The localhost service, or a node list with nodes on this machine's shell (an inventory's ansible_connection=local).
  const local =
    compute.provider === 'localhost'
      ? 'the localhost service'
      : compute.provider === 'node-list'
        ? (await compute.nodes({ groups: groups.map((g) => g.groupName) }))
            .filter((n) => n.transport === 'local')
            .map((n) => n.id)
        : [];
  if (local.length === 0) return;
  const where =
    typeof local === 'string'
      ? local
      : `node(s) ${local.slice(0, 5).join(', ')} of service ${compute.name}, on this machine's shell`;
  const found = new Map<string, string[]>();
  for (const g of groups) {
    const names = phases ? phases.map(phaseName) : g.defaultPhases;
    for (const name of names) {
      const phase = g.phases[name];
      if (!phase) continue;
      const args =
        phases?.find((p): p is { name: string; args?: unknown[] } => typeof p === 'object' && p.name === name)?.args ??
        [];
      const text = await explainPlan(
        async (...a: unknown[]) => {
          for (const fn of phase.fns) await (fn as (...x: unknown[]) => unknown)(...a);
        },
        { groupName: g.groupName, args },
      ).catch(() => '');
      for (const m of text.matchAll(/ACTION: (.*) \(([A-Za-z]+), /g)) {
        const kind = SYSTEM_CHANGES[m[2]!];
        if (kind) found.set(kind, [...(found.get(kind) ?? []), m[1]!]);
      }
    }
  }
  if (found.size === 0) return;
  const what = [...found].map(([k, xs]) => `${k} (${[...new Set(xs)].slice(0, 3).join('; ')})`).join(', ');
  ctx.note(`note: this runs on this machine (${where}): it ${what}. Use -P <service> to work on other nodes.`);
}

/**
 * Before a converge that destroys nodes: show which, and go on only when
 * confirmed (a `y` on a terminal, or --yes). Nothing is changed otherwise.
 */
export async function confirmDestroy(
  ctx: CliContext,
  compute: ComputeService,
  groups: GroupSpec[],
  o: Pick<SelectOpts, 'yes' | 'check'>,
): Promise<void> {
  // Check mode destroys nothing: the result lists what a real run would destroy.
  if (o.check) return;
  const yes = o.yes;
  const nodes = await compute.nodes({ groups: groups.map((g) => g.groupName) });
  const found = matchTargets(nodes, groups);
  const plan = convergePlan(groups, [...found.running, ...found.stopped]);
  if (plan.destroy.length === 0) return;
  const list = plan.destroy.map((t) => `${t.node.id} (group ${t.spec.groupName})`);
  const what = `this would destroy ${list.length} node(s) of service ${compute.name}: ${list.join(', ')}`;
  if (yes) {
    if (!ctx.g.json) ctx.note(what);
    return;
  }
  if (ctx.tty && process.stdin.isTTY) {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    const answer = await new Promise<string>((res) => rl.question(`${what}\nDestroy them? [y/N] `, res));
    rl.close();
    if (/^y(es)?$/i.test(answer.trim())) return;
    throw new UsageError('nothing was destroyed');
  }
  throw new UsageError(`${what}; nothing was changed. Run again with --yes to confirm.`);
}
