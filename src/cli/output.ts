/**
 * How the CLI shows things: an operation with the right renderer (JSON
 * events, live view, plain lines or quiet) and its summary, tables, the dry run.
 */
import type { ComputeService } from '../compute/types.js';
import type { Project } from '../project/load.js';
import type { OperationEvent, OperationOptions, PhaseRef } from '../operation/operation.js';
import type { OperationResult } from '../operation/result.js';
import { jsonRenderer, jsonSummary, lineRenderer, liveRenderer, summaryText } from '../report/render.js';
import type { GroupSpec } from '../model/specs.js';
import { wouldChangeAnything } from '../operation/result.js';
import { EXIT_FAILED, EXIT_WOULD_CHANGE, exitForSignal, phaseName, type SelectOpts } from './common.js';
import type { CliContext } from './context.js';

/** The options every operation command starts from: service, phases (if given), the project's environment. */
export function operationOptions(
  compute: ComputeService,
  project: Project,
  phases?: PhaseRef[],
  o: Pick<SelectOpts, 'check'> = {},
): OperationOptions {
  return {
    compute,
    ...(phases ? { phase: phases } : {}),
    ...(project.environment ? { environment: project.environment } : {}),
    ...(o.check ? { check: true } : {}),
  };
}

/** Run an operation with the right renderer; returns the exit code. */
export async function runOperation(
  ctx: CliContext,
  f: (opts: OperationOptions) => Promise<OperationResult>,
  base: OperationOptions,
  view: Pick<SelectOpts, 'diff'> = {},
): Promise<number> {
  const { g } = ctx;
  // Diffs (check mode) are shown on a terminal unless --no-diff, elsewhere with --diff.
  const diff = view.diff ?? ctx.tty;
  const redact = ctx.redact();
  const write = (s: string) => ctx.write(s);
  let onEvent: (e: OperationEvent) => void = () => {};
  let stop = () => {};
  let details = false;
  if (g.json) onEvent = jsonRenderer({ write, redact, verbose: g.verbose ?? false });
  else if (g.quiet) onEvent = () => {};
  else if (ctx.tty) {
    const live = liveRenderer({ write, redact, color: ctx.color });
    onEvent = live.onEvent;
    stop = live.stop;
    // The live view shows no action's details: the summary lists what would change.
    details = true;
  } else onEvent = lineRenderer({ write, redact, verbose: g.verbose ?? false, color: false, diff });
  // The handshake timeout, and a connection silent for about as long counts as lost.
  const t = g.connectTimeout;
  const connection = t
    ? {
        connection: {
          connectTimeoutMs: Math.round(t * 1000),
          keepaliveIntervalMs: Math.max(250, Math.round((t * 1000) / 4)),
          keepaliveCountMax: 3,
        },
      }
    : {};
  // The first SIGINT/SIGTERM stops starting new work and lets running actions end (cut after a
  // short grace period); the partial summary is printed. A second one exits at once.
  const ac = new AbortController();
  let stopped: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopped) process.exit(exitForSignal(sig));
    stopped = sig;
    ctx.note(`${sig}: stopping; running actions may end, nothing new starts (${sig} again to exit at once)`);
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let result: OperationResult;
  try {
    result = await f({
      ...base,
      user: ctx.adminUser(),
      ...connection,
      ...(g.concurrency ? { concurrency: g.concurrency } : {}),
      onEvent,
      signal: ac.signal,
    });
  } finally {
    stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (g.json) jsonSummary(result, { write, redact });
  else {
    if (result.targets.length === 0 && result.newNodes.length === 0 && result.oldNodes.length === 0) {
      ctx.note(
        `warning: no node of ${base.compute?.name ?? 'the service'} matched the selected groups: nothing was done`,
      );
    }
    if (!g.quiet || !result.ok) write(summaryText(result, { color: ctx.color, redact, details, diff }));
  }
  if (stopped) return exitForSignal(stopped);
  if (!result.ok) return EXIT_FAILED;
  return base.check && wouldChangeAnything(result) ? EXIT_WOULD_CHANGE : 0;
}

/** Columns padded to their widest cell; the first row is the header. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return (
    rows
      .map((r) =>
        r
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

/** `--dry-run`: the node counts each group has and wants, and the phases; nothing is changed. */
export async function dryRun(
  ctx: CliContext,
  compute: ComputeService,
  groups: GroupSpec[],
  phases: PhaseRef[] | undefined,
  counts: boolean,
): Promise<number> {
  const nodes = await compute.nodes({ groups: groups.map((g) => g.groupName) });
  const plan = groups.map((g) => {
    const have = nodes.filter((n) => n.groupName === g.groupName || n.groupNames?.includes(g.groupName)).length;
    return {
      group: g.groupName,
      have,
      want: counts ? (g.count ?? 1) : have,
      phases: phases?.map(phaseName) ?? [...g.defaultPhases],
    };
  });
  if (ctx.g.json) {
    ctx.write(
      `${JSON.stringify({ event: 'dry-run', service: compute.name, groups: plan.map((p) => ({ ...p, create: Math.max(0, p.want - p.have), destroy: Math.max(0, p.have - p.want) })) })}\n`,
    );
  } else {
    ctx.write(`dry run on service ${compute.name} (nothing is changed):\n`);
    for (const p of plan) {
      const delta = p.want - p.have;
      const change = delta > 0 ? `create ${delta}` : delta < 0 ? `destroy ${-delta}` : 'no node change';
      ctx.write(`  ${p.group}: ${p.have} node(s) now, ${p.want} wanted: ${change}; phases ${p.phases.join(', ')}\n`);
    }
  }
  return 0;
}
