#!/usr/bin/env node
/**
 * The `pallet` command.
 *
 * Exit codes: 0 success; 1 a phase failed on some node; 2 a usage,
 * configuration or engine error.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { computeService, serviceFromConfig, supportedProviders } from '../compute/index.js';
import type { ComputeService } from '../compute/types.js';
import { configuredAdminUser, loadConfig, palletHome, serviceName } from '../config/config.js';
import { findProjectFile, loadProject, projectGroups, type Project } from '../config/project.js';
import { converge, lift, type OperationEvent, type OperationOptions, type PhaseRef } from '../operation/operation.js';
import type { OperationResult } from '../operation/result.js';
import { convergePlan } from '../operation/converge-plan.js';
import { matchTargets } from '../operation/targets.js';
import { explainPlan } from '../report/explain.js';
import { jsonRenderer, jsonSummary, lineRenderer, liveRenderer, redactor, summaryText, type Redactor } from '../report/render.js';
import { withCount, type GroupSpec, type PhaseFn } from '../spec/spec.js';
import { defaultAdminUser } from '../user.js';

/** Exit codes (the table is in the README). */
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
/** An internal error of pallet itself (a bug): not the same as a phase that failed. */
const EXIT_INTERNAL = 70;

class UsageError extends Error {}

function version(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const p of [join(here, '..', '..', 'package.json'), join(here, '..', 'package.json')]) {
    if (existsSync(p)) return (JSON.parse(readFileSync(p, 'utf8')) as { version: string }).version;
  }
  return 'unknown';
}

interface GlobalOpts {
  service?: string;
  project?: string;
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  concurrency?: number;
  connectTimeout?: number;
  color?: boolean;
}

interface SelectOpts {
  selector?: string[];
  group?: string[];
  role?: string[];
  phase?: string[];
  dryRun?: boolean;
  yes?: boolean;
}

/** What a run of the command line ends with: each run has its own (no module-level state). */
interface Outcome {
  code: number;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** 128 + the signal's number, as shells report it. */
function exitForSignal(sig: NodeJS.Signals): number {
  return sig === 'SIGINT' ? 130 : 143;
}

/** A project's identity for node labels: its directory's name and a hash of its path. */
function projectId(file: string): string {
  const abs = resolve(file);
  const base = basename(dirname(abs)).replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 40) || 'project';
  return `${base}-${createHash('sha256').update(abs).digest('hex').slice(0, 8)}`;
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--concurrency must be a whole number above 0, not '${v}'`);
  return n;
}

function seconds(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--connect-timeout must be a number of seconds above 0, not '${v}'`);
  return n;
}

/** `name` or `name:arg1,arg2` (arguments parsed as YAML scalars: numbers, booleans, strings). */
function parsePhase(p: string): PhaseRef {
  const i = p.indexOf(':');
  if (i < 0) return p;
  const args = p
    .slice(i + 1)
    .split(',')
    .map((a) => {
      try {
        return parseYaml(a) as unknown;
      } catch {
        return a;
      }
    });
  return { name: p.slice(0, i), args };
}

class Cli {
  constructor(
    readonly g: GlobalOpts,
    private readonly out: NodeJS.WriteStream = process.stdout,
  ) {}

  get tty(): boolean {
    return Boolean(this.out.isTTY) && !this.g.json;
  }

  get color(): boolean {
    return this.g.color !== false && this.tty && !process.env.NO_COLOR;
  }

  service(): ComputeService {
    // Docker nodes are labelled with the project that owns them (unless PALLET_PROJECT says otherwise).
    const file = this.g.project ?? findProjectFile(process.cwd());
    if (file && !process.env.PALLET_PROJECT) process.env.PALLET_PROJECT = projectId(file);
    return this.g.service ? computeService(this.g.service) : computeService();
  }

  /**
   * On the localhost service the phases run on this very machine: say so before
   * running any that would install packages, control services or change users.
   */
  async noticeLocalhost(compute: ComputeService, groups: GroupSpec[], phases: PhaseRef[] | undefined): Promise<void> {
    if (compute.provider !== 'localhost' || this.g.json) return;
    const kinds: Record<string, string> = {
      pkg: 'installs or removes packages', packages: 'installs or removes packages', packageManager: 'runs the package manager', installDeb: 'installs packages',
      addRpm: 'installs packages', minimalPackages: 'installs packages', packageSource: 'adds package sources', debconfSetSelections: 'changes package settings',
      service: 'controls services', user: 'changes users', group: 'changes groups',
    };
    const found = new Map<string, string[]>();
    for (const g of groups) {
      const names = phases ? phases.map((p) => (typeof p === 'string' ? p : 'name' in p ? p.name : '')) : g.defaultPhases;
      for (const name of names) {
        const phase = g.phases[name];
        if (!phase) continue;
        const args = phases?.find((p): p is { name: string; args?: unknown[] } => typeof p === 'object' && 'name' in p && p.name === name)?.args ?? [];
        const text = await explainPlan(async (...a: unknown[]) => {
          for (const fn of phase.fns) await (fn as (...x: unknown[]) => unknown)(...a);
        }, { groupName: g.groupName, args }).catch(() => '');
        for (const m of text.matchAll(/ACTION: (.*) \(([A-Za-z]+), /g)) {
          const kind = kinds[m[2]!];
          if (kind) found.set(kind, [...(found.get(kind) ?? []), m[1]!]);
        }
      }
    }
    if (found.size === 0) return;
    const what = [...found].map(([k, xs]) => `${k} (${[...new Set(xs)].slice(0, 3).join('; ')})`).join(', ');
    process.stderr.write(`pallet: note: this runs on this machine (the localhost service): it ${what}. Use -P <service> to work on other nodes.\n`);
  }

  /**
   * Before a converge that destroys nodes: show which, and go on only when
   * confirmed (a `y` on a terminal, or --yes). Nothing is changed otherwise.
   */
  async confirmDestroy(compute: ComputeService, groups: GroupSpec[], yes: boolean | undefined): Promise<void> {
    const nodes = await compute.nodes({ groups: groups.map((g) => g.groupName) });
    const found = matchTargets(nodes, groups);
    const plan = convergePlan(groups, [...found.running, ...found.stopped]);
    if (plan.destroy.length === 0) return;
    const list = plan.destroy.map((t) => `${t.node.id} (group ${t.spec.groupName})`);
    const what = `this would destroy ${list.length} node(s) of service ${compute.name}: ${list.join(', ')}`;
    if (yes) {
      if (!this.g.json) process.stderr.write(`pallet: ${what}\n`);
      return;
    }
    if (this.tty && process.stdin.isTTY) {
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      const answer = await new Promise<string>((res) => rl.question(`${what}\nDestroy them? [y/N] `, res));
      rl.close();
      if (/^y(es)?$/i.test(answer.trim())) return;
      throw new UsageError('nothing was destroyed');
    }
    throw new UsageError(`${what}; nothing was changed. Run again with --yes to confirm.`);
  }

  /** The admin user: from the user configuration (only the CLI reads it), else the default. */
  adminUser() {
    return configuredAdminUser() ?? defaultAdminUser();
  }

  redact(): Redactor {
    let user;
    try {
      user = this.adminUser();
    } catch {
      user = defaultAdminUser();
    }
    return redactor([user.password, user.sudoPassword, user.passphrase, user.privateKey]);
  }

  async project(): Promise<Project> {
    const file = this.g.project ?? findProjectFile(process.cwd());
    if (!file || !existsSync(file)) {
      throw new UsageError(`no project file: ${this.g.project ?? 'pallet.config.ts'} not found in ${process.cwd()}. Run 'pallet init' to create one.`);
    }
    return loadProject(file);
  }

  async groups(o: SelectOpts, compute: ComputeService, names?: string[]): Promise<{ project: Project; groups: GroupSpec[] }> {
    const project = await this.project();
    const groups = projectGroups(project, {
      provider: compute.provider,
      ...(o.selector ? { selectors: o.selector } : {}),
      ...(names?.length || o.group ? { groups: [...(names ?? []), ...(o.group ?? [])] } : {}),
      ...(o.role ? { roles: o.role } : {}),
    });
    if (groups.length === 0) throw new UsageError('no group matches the given --group, --role and --selector');
    return { project, groups };
  }

  /** Run an operation with the right renderer; returns the exit code. */
  async run(f: (opts: OperationOptions) => Promise<OperationResult>, base: OperationOptions): Promise<number> {
    const redact = this.redact();
    const write = (s: string) => void this.out.write(s);
    let onEvent: (e: OperationEvent) => void = () => {};
    let stop = () => {};
    if (this.g.json) onEvent = jsonRenderer({ write, redact, verbose: this.g.verbose ?? false });
    else if (this.g.quiet) onEvent = () => {};
    else if (this.tty) {
      const live = liveRenderer({ write, redact, color: this.color });
      onEvent = live.onEvent;
      stop = live.stop;
    } else onEvent = lineRenderer({ write, redact, verbose: this.g.verbose ?? false, color: false });
    let result: OperationResult;
    // The handshake timeout, and a connection silent for about as long counts as lost.
    const t = this.g.connectTimeout;
    const connection = t ? { connection: { connectTimeoutMs: Math.round(t * 1000), keepaliveIntervalMs: Math.max(250, Math.round((t * 1000) / 4)), keepaliveCountMax: 3 } } : {};
    // The first SIGINT/SIGTERM stops starting new work and lets running actions end (cut after a
    // short grace period); the partial summary is printed. A second one exits at once.
    const ac = new AbortController();
    let stopped: NodeJS.Signals | undefined;
    const onSignal = (sig: NodeJS.Signals) => {
      if (stopped) process.exit(exitForSignal(sig));
      stopped = sig;
      process.stderr.write(`pallet: ${sig}: stopping; running actions may end, nothing new starts (${sig} again to exit at once)\n`);
      ac.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      result = await f({ ...base, user: this.adminUser(), ...connection, ...(this.g.concurrency ? { concurrency: this.g.concurrency } : {}), onEvent, signal: ac.signal });
    } finally {
      stop();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    if (this.g.json) jsonSummary(result, { write, redact });
    else {
      if (result.targets.length === 0 && result.newNodes.length === 0 && result.oldNodes.length === 0) {
        process.stderr.write(`pallet: warning: no node of ${base.compute?.name ?? 'the service'} matched the selected groups: nothing was done\n`);
      }
      if (!this.g.quiet || !result.ok) write(summaryText(result, { color: this.color, redact }));
    }
    if (stopped) return exitForSignal(stopped);
    return result.ok ? 0 : EXIT_FAILED;
  }

  table(rows: string[][]): string {
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
    return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n';
  }

  async dryRun(compute: ComputeService, groups: GroupSpec[], phases: PhaseRef[] | undefined, counts: boolean): Promise<number> {
    const nodes = await compute.nodes({ groups: groups.map((g) => g.groupName) });
    const plan = groups.map((g) => {
      const have = nodes.filter((n) => n.groupName === g.groupName || n.groupNames?.includes(g.groupName)).length;
      return { group: g.groupName, have, want: counts ? (g.count ?? 1) : have, phases: phases?.map((p) => (typeof p === 'string' ? p : 'name' in p ? p.name : 'inline')) ?? [...g.defaultPhases] };
    });
    if (this.g.json) {
      this.out.write(`${JSON.stringify({ event: 'dry-run', service: compute.name, groups: plan.map((p) => ({ ...p, create: Math.max(0, p.want - p.have), destroy: Math.max(0, p.have - p.want) })) })}\n`);
    } else {
      this.out.write(`dry run on service ${compute.name} (nothing is changed):\n`);
      for (const p of plan) {
        const delta = p.want - p.have;
        const change = delta > 0 ? `create ${delta}` : delta < 0 ? `destroy ${-delta}` : 'no node change';
        this.out.write(`  ${p.group}: ${p.have} node(s) now, ${p.want} wanted: ${change}; phases ${p.phases.join(', ')}\n`);
      }
    }
    return 0;
  }
}

function build(outcome: Outcome): Command {
  /** Wrap a command's action so that its return value becomes the exit code. */
  const act = <A extends unknown[]>(fn: (...args: A) => number | Promise<number>): ((...args: A) => Promise<void>) => async (...args: A) => {
    outcome.code = await fn(...args);
  };
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
    .addOption(new Option('--connect-timeout <seconds>', 'SSH handshake timeout; a connection silent this long counts as lost (default 20 s / about 60 s)').argParser(seconds))
    .option('--no-color', 'no colours (also: NO_COLOR, or not a terminal)')
    .showHelpAfterError('(run pallet help for the commands)')
    .exitOverride();
  program.configureOutput({ outputError: (s, write) => write(s.split('\n')[0]!.trim() + '\n') });

  const cli = () => new Cli(program.opts<GlobalOpts>());
  const select = (c: Command) =>
    c
      .option('-s, --selector <name>', 'project variant selector (repeatable)', collect)
      .option('-g, --group <name>', 'only this group (repeatable)', collect)
      .option('-r, --role <name>', 'only groups with this role (repeatable)', collect)
      .option('-a, --phase <phase>', 'a phase to run, optionally with arguments: name:arg1,arg2 (repeatable)', collect)
      .option('--dry-run', 'show what would happen; change nothing')
      .option('-y, --yes', 'destroy nodes without asking (up, down, converge: what will be destroyed is still printed)');

  select(program.command('up').description("converge the project's groups to their counts (default 1), bootstrap new nodes, configure all")).action(act(async (o: SelectOpts) => {
    const c = cli();
    const compute = c.service();
    const { project, groups } = await c.groups(o, compute);
    const phases = o.phase?.map(parsePhase);
    if (o.dryRun) return c.dryRun(compute, groups, phases, true);
    await c.confirmDestroy(compute, groups.map((g) => withCount(g, g.count ?? 1)), o.yes);
    await c.noticeLocalhost(compute, groups, phases);
    return c.run((opts) => converge(groups, opts), { compute, ...(phases ? { phase: phases } : {}), ...(project.environment ? { environment: project.environment } : {}) });
  }));

  select(program.command('down').description("remove every node of the project's groups")).action(act(async (o: SelectOpts) => {
    const c = cli();
    const compute = c.service();
    const { project, groups } = await c.groups(o, compute);
    const zero = groups.map((g) => withCount(g, 0));
    if (o.dryRun) return c.dryRun(compute, zero, [], true);
    await c.confirmDestroy(compute, zero, o.yes);
    return c.run((opts) => converge(zero, opts), { compute, ...(project.environment ? { environment: project.environment } : {}) });
  }));

  select(program.command('lift').description('apply phases (default: configure) to the nodes the groups already have').argument('[groups...]', 'groups of the project (default: all)')).action(act(
    async (names: string[], o: SelectOpts) => {
      const c = cli();
      const compute = c.service();
      const { project, groups } = await c.groups(o, compute, names);
      const phases = o.phase?.map(parsePhase);
      if (o.dryRun) return c.dryRun(compute, groups, phases, false);
      await c.noticeLocalhost(compute, groups, phases);
      return c.run((opts) => lift(groups, opts), { compute, ...(phases ? { phase: phases } : {}), ...(project.environment ? { environment: project.environment } : {}) });
    },
  ));

  select(program.command('converge').description('converge the given groups to the given counts').argument('<group=count...>', 'e.g. web=2 db=1')).action(act(
    async (pairs: string[], o: SelectOpts) => {
      const c = cli();
      const compute = c.service();
      const counts = new Map<string, number>();
      for (const p of pairs) {
        const m = /^([^=]+)=(\d+)$/.exec(p);
        if (!m) throw new UsageError(`'${p}' is not group=count (e.g. web=2)`);
        counts.set(m[1]!, Number(m[2]));
      }
      const { project, groups } = await c.groups({ ...o, group: [...counts.keys()] }, compute);
      const withCounts = groups.map((g) => withCount(g, counts.get(g.groupName) ?? g.count ?? 1));
      const phases = o.phase?.map(parsePhase);
      if (o.dryRun) return c.dryRun(compute, withCounts, phases, true);
      await c.confirmDestroy(compute, withCounts, o.yes);
      await c.noticeLocalhost(compute, withCounts, phases);
      return c.run((opts) => converge(withCounts, opts), { compute, ...(phases ? { phase: phases } : {}), ...(project.environment ? { environment: project.environment } : {}) });
    },
  ));

  program
    .command('nodes')
    .description("list the service's nodes")
    .action(act(async () => {
      const c = cli();
      const compute = c.service();
      const nodes = await compute.nodes();
      if (c.g.json) {
        for (const n of nodes) {
          process.stdout.write(`${JSON.stringify({ event: 'node', id: n.id, group: n.groupName, ip: n.primaryIp, privateIp: n.privateIp ?? null, sshPort: n.sshPort, hostname: n.hostname, osFamily: n.osFamily ?? null, osVersion: n.osVersion ?? null, running: n.running })}\n`);
        }
        return 0;
      }
      const rows = [['GROUP', 'ID', 'IP', 'PRIVATE IP', 'SSH', 'HOSTNAME', 'OS']];
      for (const n of nodes) rows.push([n.groupName, n.id, n.primaryIp, n.privateIp ?? '-', String(n.sshPort), n.hostname, [n.osFamily, n.osVersion].filter(Boolean).join(' ') || '-']);
      process.stdout.write(c.table(rows));
      return 0;
    }));

  program
    .command('explain')
    .description("show the actions and exact scripts each group's phases would run (no node is touched)")
    .option('-g, --group <name>', 'only this group (repeatable)', collect)
    .option('-a, --phase <phase>', 'these phases (default: each group\'s default phases)', collect)
    .option('-s, --selector <name>', 'project variant selector (repeatable)', collect)
    .option('--os-family <family>', 'explain for this OS family (default: the group image\'s, else debian)')
    .option('--os-version <version>', 'and this version')
    .action(act(async (o: SelectOpts & { osFamily?: string; osVersion?: string }) => {
      const c = cli();
      let provider = 'localhost';
      try {
        provider = c.service().provider;
      } catch {
        /* explain needs no service */
      }
      const project = await c.project();
      const groups = projectGroups(project, { provider, ...(o.selector ? { selectors: o.selector } : {}), ...(o.group ? { groups: o.group } : {}) });
      for (const g of groups) {
        const phases = o.phase?.map(parsePhase) ?? g.defaultPhases.map((p) => p as PhaseRef);
        for (const ref of phases) {
          const name = typeof ref === 'string' ? ref : 'name' in ref ? ref.name : 'inline';
          const args = typeof ref === 'object' && 'args' in ref ? (ref.args ?? []) : [];
          const phase = g.phases[name];
          process.stdout.write(`GROUP ${g.groupName} PHASE ${name}:\n`);
          if (!phase) {
            process.stdout.write('  (the group does not define this phase)\n');
            continue;
          }
          const all: PhaseFn = (async (...a: unknown[]) => {
            for (const f of phase.fns) await (f as (...x: unknown[]) => unknown)(...a);
          }) as PhaseFn;
          const osFamily = o.osFamily ?? g.image?.osFamily ?? 'debian';
          const osVersion = o.osVersion ?? g.image?.osVersion ?? '12';
          const user = configuredAdminUser() ?? defaultAdminUser();
          process.stdout.write(await explainPlan(all, { osFamily, osVersion, groupName: g.groupName, args, user }));
        }
      }
      return 0;
    }));

  program
    .command('providers')
    .description('list the compute providers configurations can use')
    .action(act(() => {
      const c = cli();
      if (c.g.json) for (const p of supportedProviders()) process.stdout.write(`${JSON.stringify({ event: 'provider', ...p })}\n`);
      else process.stdout.write(c.table([['PROVIDER', 'DESCRIPTION'], ...supportedProviders().map((p) => [p.name, p.description])]));
      return 0;
    }));

  program
    .command('services')
    .description('list the configured compute services')
    .action(act(() => {
      const c = cli();
      const cfg = loadConfig();
      const dflt = serviceName(cfg);
      const rows = [['SERVICE', 'PROVIDER', 'DEFAULT', 'DEFINED IN']];
      for (const [name, s] of Object.entries(cfg.services)) rows.push([name, s.provider, name === dflt ? 'yes' : '', cfg.sources[name] ?? '']);
      if (!cfg.services.localhost) rows.push(['localhost', 'localhost', dflt === 'localhost' ? 'yes' : '', '(built in)']);
      if (c.g.json) for (const r of rows.slice(1)) process.stdout.write(`${JSON.stringify({ event: 'service', name: r[0], provider: r[1], default: r[2] === 'yes', source: r[3] })}\n`);
      else process.stdout.write(c.table(rows));
      return 0;
    }));

  program
    .command('add-service')
    .description('add a service configuration file to ~/.pallet/services (refuses to overwrite)')
    .argument('<name>', 'the service name')
    .argument('<provider>', 'its provider (see pallet providers)')
    .argument('[options...]', 'provider options as key=value (values read as YAML)')
    .action(act((name: string, provider: string, options: string[]) => {
      if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new UsageError(`'${name}' is not a valid service name (letters, digits, _ . -)`);
      if (!supportedProviders().some((p) => p.name === provider)) {
        throw new UsageError(`unknown provider '${provider}'. Providers: ${supportedProviders().map((p) => p.name).join(', ')}`);
      }
      const opts: Record<string, unknown> = { provider };
      for (const kv of options) {
        const i = kv.indexOf('=');
        if (i <= 0) throw new UsageError(`'${kv}' is not key=value`);
        opts[kv.slice(0, i)] = parseYaml(kv.slice(i + 1)) as unknown;
      }
      const dir = join(palletHome(), 'services');
      const file = join(dir, `${name}.yaml`);
      if (existsSync(file)) throw new UsageError(`${file} already exists; edit it or remove it first`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(file, stringifyYaml({ [name]: opts }), { mode: 0o600 });
      serviceFromConfig(loadConfig(), name);
      process.stdout.write(`wrote ${file}\n`);
      return 0;
    }));

  program
    .command('config')
    .description('create the user configuration file ~/.pallet/config.yaml (refuses to overwrite)')
    .action(act(() => {
      const home = palletHome();
      const file = join(home, 'config.yaml');
      if (['config.yaml', 'config.yml', 'config.json'].some((f) => existsSync(join(home, f)))) throw new UsageError(`a configuration already exists in ${home}`);
      mkdirSync(home, { recursive: true });
      writeFileSync(file, CONFIG_TEMPLATE, { mode: 0o600 });
      process.stdout.write(`wrote ${file}\n`);
      return 0;
    }));

  program
    .command('init')
    .description('write a commented starter pallet.config.ts (refuses to overwrite)')
    .action(act(() => {
      const file = resolve('pallet.config.ts');
      if (existsSync(file)) throw new UsageError(`${file} already exists`);
      writeFileSync(file, PROJECT_TEMPLATE);
      process.stdout.write(`wrote ${file}\nnext: pallet explain, then pallet up (or pallet -P <service> up)\n`);
      return 0;
    }));

  program
    .command('help')
    .description('show help for a command')
    .argument('[command]')
    .action(act((name?: string) => {
      const cmd = name ? program.commands.find((c) => c.name() === name) : undefined;
      if (name && !cmd) throw new UsageError(`unknown command '${name}'`);
      (cmd ?? program).outputHelp();
      return 0;
    }));

  return program;
}

const CONFIG_TEMPLATE = `# Pallet user configuration. Secrets can come from the environment (…Env keys).
# defaultService: lab
# adminUser:
#   username: admin
#   privateKeyPath: ~/.ssh/id_ed25519
#   passphraseEnv: PALLET_KEY_PASSPHRASE
#   sudoPasswordEnv: PALLET_SUDO_PASSWORD
# environment:
#   app: { port: 8080 }
services:
  local:
    provider: localhost
#  lab:
#    provider: node-list
#    nodes:
#      - { name: web1, group: web, ip: 192.0.2.10, osFamily: debian }
#    ssh: { hostKeyPolicy: strict }
#  containers:
#    provider: docker
#    socketPath: /run/podman/podman.sock
`;

const PROJECT_TEMPLATE = `// The pallet project file: the groups of servers this project manages.
// Run \`pallet explain\` to see the scripts, \`pallet up\` to create and configure nodes.
//
// By default pallet runs on this machine (the localhost service), so this starter
// only writes files under ./site next to this file: harmless wherever it runs.
import { directory, defineProject, groupSpec, nodeSpec, planFn, remoteFile } from 'pallet';
// For a real web server, on Docker nodes (\`pallet -P docker up\`), use pkg and service:
// import { pkg, service } from 'pallet';

const site = new URL('./site/', import.meta.url).pathname;

const web = groupSpec('web', {
  count: 1,
  phases: {
    // configure is the default phase of lift and up.
    configure: planFn('web', () => {
      directory(site);
      remoteFile(\`\${site}index.html\`, { content: '<h1>Hello from pallet</h1>\\n', mode: '0644' });
      // On a Docker node instead:
      // pkg('nginx');
      // remoteFile('/var/www/html/index.html', { content: '<h1>Hello from pallet</h1>\\n', mode: '0644' });
      // service('nginx', { action: 'start' });
    }),
  },
});

export default defineProject({
  groups: [web],
  // Per-provider node specs: the image docker nodes are created from.
  providers: {
    docker: { nodeSpec: nodeSpec({ image: { imageId: 'localhost/pallet-debian:12', osFamily: 'debian', osVersion: '12' } }) },
  },
});
`;

export async function main(argv: string[] = process.argv): Promise<number> {
  const outcome: Outcome = { code: 0 };
  const program = build(outcome);
  const json = argv.includes('--json');
  const fail = (message: string, code: number) => {
    if (json) process.stdout.write(`${JSON.stringify({ event: 'error', message, exitCode: code, time: new Date().toISOString() })}\n`);
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
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return EXIT_USAGE;
    }
    const err = e as Error;
    const usage = e instanceof UsageError || ['SpecError', 'ComputeError', 'PlanError', 'NodeValueError', 'TransportError'].includes(err.name);
    if (usage) return fail(err.message, EXIT_USAGE);
    // Anything else is a bug in pallet: a distinct code, and the stack to report it with.
    return fail(`internal error: ${err?.stack ?? String(e)}`, EXIT_INTERNAL);
  }
}

const invoked = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
const viaBin = process.argv[1] && /[/\\]pallet$/.test(process.argv[1]);
if (invoked || viaBin) {
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
