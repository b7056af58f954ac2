#!/usr/bin/env node
/**
 * The `pallet` command: global options and the commands, one file each in
 * `./commands`. Exit codes (the table is in the README): 0 success; 1 a phase
 * failed on some node; 2 a usage, configuration or engine error; 70 an internal
 * error of pallet; 130/143 stopped by SIGINT/SIGTERM.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { isPalletError } from '../core/errors.js';
import { EXIT_INTERNAL, EXIT_USAGE, positiveInt, seconds, UsageError, version } from './common.js';
import { commandKit, type Outcome } from './kit.js';
import * as addService from './commands/add-service.js';
import * as config from './commands/config.js';
import * as converge from './commands/converge.js';
import * as down from './commands/down.js';
import * as explain from './commands/explain.js';
import * as facts from './commands/facts.js';
import * as help from './commands/help.js';
import * as init from './commands/init.js';
import * as lift from './commands/lift.js';
import * as nodes from './commands/nodes.js';
import * as providers from './commands/providers.js';
import * as services from './commands/services.js';
import * as up from './commands/up.js';

/** In the order `pallet help` lists them. */
const COMMANDS = [up, down, lift, converge, nodes, facts, explain, providers, services, addService, config, init, help];

function build(outcome: Outcome): Command {
  const program = new Command('pallet');
  program
    .description('Describe servers in TypeScript and make real machines match.')
    .version(version(), '-V, --version')
    .option('-P, --service <name>', 'the compute service to use (default: the configured default, else localhost)')
    .option('--project <file>', 'the project file (default: ./pallet.config.ts)')
    .option('--json', 'newline-delimited JSON events on stdout, nothing else')
    .option('-q, --quiet', 'print only failures')
    .option('-v, --verbose', 'show scripts and their output')
    .addOption(new Option('--concurrency <n>', 'how many nodes run at once').argParser(positiveInt))
    .addOption(
      new Option(
        '--connect-timeout <seconds>',
        'SSH handshake timeout; a connection silent this long counts as lost (default 20 s / about 60 s)',
      ).argParser(seconds),
    )
    .option('--no-color', 'no colours (also: NO_COLOR, or not a terminal)')
    .showHelpAfterError('(run pallet help for the commands)')
    .exitOverride();
  program.configureOutput({ outputError: (s, write) => write(s.split('\n')[0]!.trim() + '\n') });
  const kit = commandKit(program, outcome);
  for (const c of COMMANDS) c.register(program, kit);
  return program;
}

export async function main(argv: string[] = process.argv): Promise<number> {
  const outcome: Outcome = { code: 0 };
  const program = build(outcome);
  const json = argv.includes('--json');
  const fail = (message: string, code: number) => {
    if (json)
      process.stdout.write(
        `${JSON.stringify({ event: 'error', message, exitCode: code, time: new Date().toISOString() })}\n`,
      );
    else process.stderr.write(`pallet: ${message}\n`);
    return code;
  };
  try {
    if (argv.length <= 2) {
      program.outputHelp();
      return 0;
    }
    await program.parseAsync(argv);
    return outcome.code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help')
        return 0;
      return EXIT_USAGE;
    }
    const err = e as Error;
    if (e instanceof UsageError || isPalletError(e)) return fail(err.message, EXIT_USAGE);
    // Anything else is a bug in pallet: a distinct code, and the stack to report it with.
    return fail(`internal error: ${err?.stack ?? String(e)}`, EXIT_INTERNAL);
  }
}

/** Runs the command line of this process and sets its exit code (dist/cli/main.js calls it). */
export function run(): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`pallet: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
      process.exitCode = EXIT_INTERNAL;
    },
  );
}

// Run from the sources (`tsx src/cli/main.ts ...`); the built package runs `run` from dist/cli/main.js.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) run();
