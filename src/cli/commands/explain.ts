/** `pallet explain`: the actions and exact scripts each group's phases would run; no node is touched. */
import type { Command } from 'commander';
import { projectGroups } from '../../project/load.js';
import type { PhaseRef } from '../../operation/operation.js';
import { explainPlan } from '../../report/explain.js';
import { nodeInGroup, type PhaseFn } from '../../model/specs.js';
import { collect, parsePhase, phaseName, type SelectOpts } from '../common.js';
import type { CommandKit } from '../kit.js';
import { factsFor } from './facts.js';

export function register(program: Command, kit: CommandKit): void {
  program
    .command('explain')
    .description("show the actions and exact scripts each group's phases would run (no node is touched)")
    .option('-g, --group <name>', 'only this group (repeatable)', collect)
    .option('-a, --phase <phase>', "these phases (default: each group's default phases)", collect)
    .option('-s, --selector <name>', 'project variant selector (repeatable)', collect)
    .option('--os-family <family>', "explain for this OS family (default: the group image's, else debian)")
    .option('--os-version <version>', 'and this version')
    .option('--facts <file>', "explain with these facts (JSON, as 'pallet facts --json' prints them)")
    .option(
      '--facts-from <node>',
      'explain with the facts of this node of the service (probed now; nothing is changed)',
    )
    .option('--show-content', 'show the content each file would get, decoded (sensitive content is not shown)')
    .action(
      kit.act(
        async (
          o: SelectOpts & {
            osFamily?: string;
            osVersion?: string;
            showContent?: boolean;
            facts?: string;
            factsFrom?: string;
          },
        ) => {
          const ctx = kit.ctx();
          const given = await factsFor(ctx, o);
          const facts = given?.facts;
          let provider = 'localhost';
          try {
            provider = ctx.service().provider;
          } catch {
            /* explain needs no service */
          }
          const project = await ctx.project();
          let groups = projectGroups(project, {
            provider,
            ...(o.selector ? { selectors: o.selector } : {}),
            ...(o.group ? { groups: o.group } : {}),
          });
          // With --facts-from NODE and no --group: the groups that node is in (all, if it is in none of them).
          const node = given?.node;
          if (node && !o.group) {
            const mine = groups.filter((g) => nodeInGroup(node, g));
            if (mine.length) groups = mine;
          }
          const user = ctx.adminUser();
          for (const g of groups) {
            const phases: PhaseRef[] = o.phase?.map(parsePhase) ?? [...g.defaultPhases];
            for (const ref of phases) {
              const name = phaseName(ref);
              const args = typeof ref === 'object' ? (ref.args ?? []) : [];
              const phase = g.phases[name];
              ctx.write(`GROUP ${g.groupName} PHASE ${name}:\n`);
              if (!phase) {
                ctx.write('  (the group does not define this phase)\n');
                continue;
              }
              const all: PhaseFn = (async (...a: unknown[]) => {
                for (const f of phase.fns) await (f as (...x: unknown[]) => unknown)(...a);
              }) as PhaseFn;
              const osFamily = o.osFamily ?? g.image?.osFamily ?? facts?.os.distribution ?? 'debian';
              const osVersion = o.osVersion ?? g.image?.osVersion ?? facts?.os.version ?? '12';
              ctx.write(
                await explainPlan(all, {
                  osFamily,
                  osVersion,
                  groupName: g.groupName,
                  args,
                  user,
                  ...(facts ? { facts } : {}),
                  ...(node ? { node } : {}),
                  ...(o.showContent ? { showContent: true } : {}),
                }),
              );
            }
          }
          return 0;
        },
      ),
    );
}
