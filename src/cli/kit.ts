/**
 * What a command file gets to register itself: the context of this run, the
 * action wrapper that turns a return value into the exit code, and the
 * group-selection options shared by up, down, lift and converge.
 */
import type { Command } from 'commander';
import { collect, type GlobalOpts } from './common.js';
import { CliContext } from './context.js';

/** What a run of the command line ends with: each run has its own. */
export interface Outcome {
  code: number;
}

export interface CommandKit {
  /** The context of this run (built from the global options once they are parsed). */
  ctx(): CliContext;
  /** Wrap a command's action so that its return value becomes the exit code. */
  act<A extends unknown[]>(fn: (...args: A) => number | Promise<number>): (...args: A) => Promise<void>;
  /** Add the group-selection options (-s, -g, -r, -a, --dry-run, --yes). */
  select(c: Command): Command;
}

export function commandKit(program: Command, outcome: Outcome): CommandKit {
  return {
    ctx: () => new CliContext(program.opts<GlobalOpts>()),
    act:
      <A extends unknown[]>(fn: (...args: A) => number | Promise<number>) =>
      async (...args: A) => {
        outcome.code = await fn(...args);
      },
    select: (c) =>
      c
        .option('-s, --selector <name>', 'project variant selector (repeatable)', collect)
        .option('-g, --group <name>', 'only this group (repeatable)', collect)
        .option('-r, --role <name>', 'only groups with this role (repeatable)', collect)
        .option(
          '-a, --phase <phase>',
          'a phase to run, optionally with arguments: name:arg1,arg2 (repeatable)',
          collect,
        )
        .option('--dry-run', 'show the node counts and phases; contact no node, change nothing')
        .option(
          '--check',
          'check mode: run every test on the nodes, change nothing, show what would change (exit 3 if anything would)',
        )
        .option('--diff', 'with --check: show diffs of files (default on a terminal)')
        .option('--no-diff', 'with --check: no diffs')
        .option(
          '-y, --yes',
          'destroy nodes without asking (up, down, converge: what will be destroyed is still printed)',
        ),
  };
}
