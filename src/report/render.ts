/**
 * Renderers of operation events: newline-delimited JSON (`--json`), plain
 * lines (not a terminal), and a live view (a terminal). All of them pass text
 * through a redactor, so secrets (passwords, passphrases) never reach output.
 *
 * Why this file is long: three renderers of the same events (JSON lines, plain lines, a live terminal view) share the
 * redactor and the summary wording; apart, their wording would drift.
 */
import type { OperationEvent } from '../operation/operation.js';
import { checkCounts, type ActionResult, type OperationResult } from '../operation/result.js';
import { Secrets } from '../core/secrets.js';

export type Redactor = (s: string) => string;

/**
 * A redactor for output (the same policy as results: see `Secrets`): the given
 * secrets and every value marked with `secret()`, in all their forms, become
 * `<sensitive>`. Results reach renderers already redacted; this is a second
 * layer for text the renderers add.
 */
export function redactor(secrets: ReadonlyArray<string | undefined>): Redactor {
  const s = new Secrets(secrets);
  return (text) => s.redact(text);
}

export interface RenderOptions {
  write: (s: string) => void;
  redact?: Redactor;
  /** Include action output and scripts. */
  verbose?: boolean;
  color?: boolean;
  /** Check mode: show the diffs of files. */
  diff?: boolean;
}

/** Check mode: what a result says, as the fields of a JSON event. */
function checkFields(a: ActionResult): Record<string, unknown> {
  return {
    ...(a.wouldChange !== undefined ? { wouldChange: a.wouldChange } : {}),
    ...(a.mayChange !== undefined ? { mayChange: a.mayChange } : {}),
    ...(a.would !== undefined ? { would: a.would } : {}),
    ...(a.diff !== undefined ? { diff: a.diff } : {}),
  };
}

/** Check mode: the status word of an action ("would change", "may change"), or undefined for a real run's result. */
function checkStatus(a: ActionResult): string | undefined {
  if (a.mayChange) return 'may change';
  if (a.wouldChange) return 'would change';
  return undefined;
}

/** Check mode: the lines that say what an action would do: its changes, why it may, its diff. */
function checkDetails(a: ActionResult, diff: boolean, pad: string): string[] {
  const out = (a.would ?? []).map((w) => `${pad}~ ${w}`);
  if (a.mayChange) out.push(`${pad}? ${a.mayChange}`);
  if (diff && a.diff) out.push(...a.diff.split('\n').map((l) => `${pad}  ${l}`));
  return out;
}

const tailLines = (s: string, n = 5) => s.trimEnd().split('\n').slice(-n).join('\n');

/**
 * JSON events, one object per line. Schema (every event has `event` and
 * `time`, an ISO timestamp):
 * - `operation-start` { operation: 'lift'|'converge', phases: string[] }
 * - `node-created` / `node-destroyed` { node: { id, group, ip, sshPort } }
 * - `node-skipped` { node: { id, group }, reason } (a stopped node lift or facts leaves out)
 * - `phase-start` { phase, targets: string[] }
 * - `action` { phase, target, action, summary, context: string[], changed, exit?, durationMs, ok, error?: string,
 *    out?/err?/script? (with --verbose); in check mode wouldChange, mayChange? (the reason), would?: string[], diff? }
 * - `target-end` { phase, target, ok, actions, changed, failed; in check mode wouldChange, mayChange (counts) }
 * - `phase-end` { phase, ok }
 * - `summary` { ok, nodes: [{ target, ok, actions, changed, failed, wouldChange, mayChange, failures: [{ phase, action, exit, message }] }],
 *    check?: { create: [{ groupName, count }], destroy: [node ids], start: [node ids] },
 *    skipped?: [{ id, group, reason }] (stopped nodes left out) }
 * - `error` { message, exitCode } (a usage, configuration or engine error)
 */
export function jsonRenderer(o: RenderOptions): (e: OperationEvent) => void {
  const r = o.redact ?? ((s: string) => s);
  const emit = (obj: Record<string, unknown>) =>
    o.write(`${r(JSON.stringify({ ...obj, time: new Date().toISOString() }))}\n`);
  return (e) => {
    switch (e.type) {
      case 'operation-start':
        emit({ event: e.type, operation: e.operation, phases: e.phases });
        break;
      case 'node-created':
      case 'node-destroyed':
        emit({
          event: e.type,
          node: { id: e.node.id, group: e.groupName, ip: e.node.primaryIp, sshPort: e.node.sshPort },
        });
        break;
      case 'node-skipped':
        emit({ event: e.type, node: { id: e.node.id, group: e.groupName }, reason: e.reason });
        break;
      case 'phase-start':
        emit({ event: e.type, phase: e.phase, targets: e.targets });
        break;
      case 'action': {
        const a = e.result;
        emit({
          event: 'action',
          phase: e.phase,
          target: e.target,
          action: a.action,
          summary: a.summary,
          context: a.context,
          changed: a.changed,
          ok: !a.error,
          ...(a.exit !== undefined ? { exit: a.exit } : {}),
          durationMs: a.durationMs,
          ...(a.error ? { error: a.error.message } : {}),
          ...checkFields(a),
          ...(o.verbose ? { out: a.out, err: a.err, ...(a.script ? { script: a.script } : {}) } : {}),
        });
        break;
      }
      case 'target-end': {
        const counts = checkCounts(e.result.actions);
        emit({
          event: e.type,
          phase: e.phase,
          target: e.target,
          ok: e.result.ok,
          actions: e.result.actions.length,
          changed: e.result.actions.filter((a) => a.changed).length,
          failed: e.result.actions.filter((a) => a.error).length,
          ...(counts.would || counts.may ? { wouldChange: counts.would, mayChange: counts.may } : {}),
        });
        break;
      }
      case 'phase-end':
        emit({ event: e.type, phase: e.phase, ok: e.ok });
        break;
      default:
        break;
    }
  };
}

export interface NodeSummary {
  target: string;
  ok: boolean;
  actions: number;
  changed: number;
  failed: number;
  /** Check mode: actions that would change, and that may change. */
  wouldChange: number;
  mayChange: number;
  failures: Array<{ phase: string; action: string; exit?: number; message: string; stderr: string }>;
}

/** Per-node totals over every phase (internal phases included in counts, not in failures unless they failed). */
export function summarise(result: OperationResult): NodeSummary[] {
  const by = new Map<string, NodeSummary>();
  for (const r of result.results) {
    const key = r.node?.id ?? `group ${r.groupName}`;
    const s = by.get(key) ?? {
      target: key,
      ok: true,
      actions: 0,
      changed: 0,
      failed: 0,
      wouldChange: 0,
      mayChange: 0,
      failures: [],
    };
    const visible = r.actions.filter((a) => !r.phase.startsWith('pallet/') || a.error);
    s.actions += visible.length;
    s.changed += visible.filter((a) => a.changed).length;
    const counts = checkCounts(visible);
    s.wouldChange += counts.would;
    s.mayChange += counts.may;
    for (const a of r.actions.filter((x) => x.error)) {
      s.failed++;
      s.failures.push({
        phase: r.phase,
        action: a.summary,
        ...(a.exit !== undefined ? { exit: a.exit } : {}),
        message: a.error!.message,
        stderr: tailLines(a.err),
      });
    }
    s.ok &&= r.ok;
    by.set(key, s);
  }
  return [...by.values()];
}

export function jsonSummary(result: OperationResult, o: RenderOptions): void {
  const r = o.redact ?? ((s: string) => s);
  const c = result.check;
  const check = c
    ? { check: { create: c.create, destroy: c.destroy.map((n) => n.id), start: c.start.map((n) => n.id) } }
    : {};
  const skipped = result.skipped.length
    ? { skipped: result.skipped.map((s) => ({ id: s.node.id, group: s.node.groupName, reason: s.reason })) }
    : {};
  const summary = { event: 'summary', ok: result.ok, nodes: summarise(result), ...check, ...skipped };
  o.write(`${r(JSON.stringify({ ...summary, time: new Date().toISOString() }))}\n`);
}

const paint = (on: boolean) => ({
  red: (s: string) => (on ? `\x1b[31m${s}\x1b[0m` : s),
  green: (s: string) => (on ? `\x1b[32m${s}\x1b[0m` : s),
  yellow: (s: string) => (on ? `\x1b[33m${s}\x1b[0m` : s),
  dim: (s: string) => (on ? `\x1b[2m${s}\x1b[0m` : s),
  bold: (s: string) => (on ? `\x1b[1m${s}\x1b[0m` : s),
});

/** Plain lines, one per event: stable enough to grep. */
export function lineRenderer(o: RenderOptions): (e: OperationEvent) => void {
  const r = o.redact ?? ((s: string) => s);
  const c = paint(o.color ?? false);
  const line = (s: string) => o.write(`${r(s)}\n`);
  // Internal phases (OS detection) are shown with --verbose, or when something in them fails.
  const hidden = (phase: string) => !o.verbose && phase.startsWith('pallet/');
  return (e) => {
    if ((e.type === 'phase-start' || e.type === 'phase-end') && hidden(e.phase) && !(e.type === 'phase-end' && !e.ok))
      return;
    if (e.type === 'action' && hidden(e.phase) && !e.result.error) return;
    switch (e.type) {
      case 'operation-start':
        line(`${e.operation}: phases ${e.phases.join(', ')}`);
        break;
      case 'node-created':
        line(`node created: ${e.node.id} (${e.groupName}) ${e.node.primaryIp}:${e.node.sshPort}`);
        break;
      case 'node-destroyed':
        line(`node destroyed: ${e.node.id} (${e.groupName})`);
        break;
      case 'node-skipped':
        line(`node skipped: ${e.node.id} (${e.groupName}): ${e.reason}`);
        break;
      case 'phase-start':
        line(`phase ${e.phase}: ${e.targets.length} target(s)`);
        break;
      case 'action': {
        const a = e.result;
        const would = checkStatus(a);
        const status = a.error
          ? c.red(`FAILED${a.exit !== undefined ? ` (exit ${a.exit})` : ''}`)
          : would
            ? c.yellow(would)
            : a.changed
              ? c.yellow('changed')
              : c.green('ok');
        line(`[${e.phase}] ${e.target}: ${a.summary} ${status}`);
        if (a.error) line(`  ${a.error.message}`);
        for (const l of checkDetails(a, o.diff ?? false, '  ')) line(l);
        if (o.verbose) {
          if (a.script)
            line(
              a.script
                .split('\n')
                .map((l) => `  | ${l}`)
                .join('\n'),
            );
          if (a.out.trim())
            line(
              a.out
                .trimEnd()
                .split('\n')
                .map((l) => `  > ${l}`)
                .join('\n'),
            );
          if (a.err.trim() && !a.error)
            line(
              a.err
                .trimEnd()
                .split('\n')
                .map((l) => `  ! ${l}`)
                .join('\n'),
            );
        }
        break;
      }
      case 'phase-end':
        if (!e.ok) line(`phase ${e.phase} failed: later phases will not run`);
        break;
      default:
        break;
    }
  };
}

/** The closing summary: a line per node, then each failure with its action, exit code and stderr. */
/**
 * Check mode: the summary says what a real run would do. `details` lists each
 * action that would or may change (for the live view, which shows none), with
 * diffs when `diff`.
 */
export function summaryText(
  result: OperationResult,
  o: { color?: boolean; redact?: Redactor; details?: boolean; diff?: boolean },
): string {
  const c = paint(o.color ?? false);
  const r = o.redact ?? ((s: string) => s);
  const nodes = summarise(result);
  const lines: string[] = [];
  const checking =
    result.check !== undefined ||
    result.results.some((x) => x.actions.some((a) => a.wouldChange !== undefined || a.mayChange !== undefined));
  const phases = result.phases.filter((p) => !p.startsWith('pallet/')).join(', ') || '(none)';
  lines.push(
    c.bold(
      `${result.ok ? 'OK' : 'FAILED'}${checking ? ' (check mode: nothing was changed)' : ''}: ${nodes.length} node(s), phases ${phases}`,
    ),
  );
  if (result.newNodes.length)
    lines.push(`created ${result.newNodes.length} node(s): ${result.newNodes.map((n) => n.id).join(', ')}`);
  if (result.oldNodes.length)
    lines.push(`destroyed ${result.oldNodes.length} node(s): ${result.oldNodes.map((n) => n.id).join(', ')}`);
  if (result.skipped.length)
    lines.push(
      `left out ${result.skipped.length} stopped node(s): ${result.skipped.map((s) => s.node.id).join(', ')} ` +
        '(start them with pallet up, or converge)',
    );
  for (const g of result.check?.create ?? [])
    lines.push(c.yellow(`would create ${g.count} node(s) in group ${g.groupName}`));
  if (result.check?.destroy.length)
    lines.push(
      c.yellow(
        `would destroy ${result.check.destroy.length} node(s): ${result.check.destroy.map((n) => n.id).join(', ')}`,
      ),
    );
  if (result.check?.start.length)
    lines.push(
      c.yellow(
        `would start ${result.check.start.length} stopped node(s): ${result.check.start.map((n) => n.id).join(', ')}`,
      ),
    );
  for (const n of nodes) {
    const state = n.ok ? c.green('ok') : c.red('FAILED');
    if (checking) {
      const ok = n.actions - n.wouldChange - n.mayChange - n.failed;
      lines.push(
        `  ${n.target}: ${state}  ${c.yellow(`${n.wouldChange} would change`)}, ${c.yellow(`${n.mayChange} may change`)}, ${ok} ok, ${n.failed ? c.red(`${n.failed} failed`) : '0 failed'}`,
      );
      if (o.details) {
        for (const x of result.results.filter(
          (x) => (x.node?.id ?? `group ${x.groupName}`) === n.target && !x.phase.startsWith('pallet/'),
        )) {
          for (const a of x.actions.filter((a) => a.wouldChange || a.mayChange)) {
            lines.push(
              `    ${c.yellow(checkStatus(a)!)} [${x.phase}] ${a.summary}`,
              ...checkDetails(a, o.diff ?? false, '      '),
            );
          }
        }
      }
    } else
      lines.push(
        `  ${n.target}: ${state}  ${n.actions - n.changed - n.failed} ok, ${c.yellow(`${n.changed} changed`)}, ${n.failed ? c.red(`${n.failed} failed`) : '0 failed'}`,
      );
    for (const f of n.failures) {
      lines.push(`    ${c.red('x')} [${f.phase}] ${f.action}${f.exit !== undefined ? ` (exit ${f.exit})` : ''}`);
      lines.push(`      ${f.message}`);
      if (f.stderr && !f.message.includes(f.stderr))
        lines.push(
          f.stderr
            .split('\n')
            .map((l) => `      ! ${l}`)
            .join('\n'),
        );
    }
  }
  return `${r(lines.join('\n'))}\n`;
}

interface LiveTarget {
  target: string;
  phase: string;
  pending: string[];
  done: number;
  changed: number;
  failed: boolean;
  started: number;
  finished?: number;
}

/**
 * A live view for terminals: one line per target with its phase, the action
 * running now, progress and elapsed time, redrawn in place.
 */
export function liveRenderer(o: RenderOptions & { interval?: number }): {
  onEvent: (e: OperationEvent) => void;
  stop: () => void;
} {
  const c = paint(o.color ?? true);
  const r = o.redact ?? ((s: string) => s);
  const targets = new Map<string, LiveTarget>();
  let header = '';
  // Check mode is known from the first result that says what would change.
  let checkMode = false;
  let drawn = 0;
  const notes: string[] = [];
  const started = Date.now();
  const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
  const draw = () => {
    const cols = process.stdout.columns || 100;
    const fit = (s: string) => (s.length > cols - 1 ? `${s.slice(0, cols - 2)}…` : s);
    const lines = [...notes.splice(0).map((n) => `${n}\n`)];
    const body: string[] = [fit(`${header}  ${c.dim(secs(Date.now() - started))}`)];
    // Never taller than the terminal: running and failed targets first, the rest summed up.
    const room = Math.max(3, (process.stdout.rows || 24) - 3);
    const all = [...targets.values()].sort(
      (a, b) => Number(Boolean(a.finished && !a.failed)) - Number(Boolean(b.finished && !b.failed)),
    );
    const shown = all.length > room ? all.slice(0, room - 1) : all;
    const rest = all.slice(shown.length);
    for (const t of shown) {
      const running = t.finished
        ? t.failed
          ? c.red('failed')
          : c.green('done')
        : (t.pending[t.done] ?? 'connecting…');
      const mark = t.finished ? (t.failed ? c.red('✗') : c.green('✓')) : c.yellow('•');
      body.push(
        fit(
          `${mark} ${t.target}  [${t.phase}] ${running}  ${c.dim(`${t.done}/${t.pending.length || '?'} ${t.changed} ${checkMode ? 'would change' : 'changed'} ${secs((t.finished ?? Date.now()) - t.started)}`)}`,
        ),
      );
    }
    if (rest.length) {
      const done = rest.filter((t) => t.finished && !t.failed).length;
      body.push(fit(c.dim(`… and ${rest.length} more: ${done} done, ${rest.length - done} running`)));
    }
    let out = drawn ? `\x1b[${drawn}A\x1b[J` : '';
    out += lines.join('');
    out += `${body.join('\n')}\n`;
    drawn = body.length;
    o.write(r(out));
  };
  const timer = setInterval(draw, o.interval ?? 100);
  timer.unref();
  const onEvent = (e: OperationEvent) => {
    switch (e.type) {
      case 'operation-start':
        header = c.bold(`${e.operation}: ${e.phases.join(' → ')}`);
        break;
      case 'node-created':
        notes.push(`node created: ${e.node.id} (${e.groupName})`);
        break;
      case 'node-destroyed':
        notes.push(`node destroyed: ${e.node.id} (${e.groupName})`);
        break;
      case 'node-skipped':
        notes.push(`node skipped: ${e.node.id} (${e.groupName}): ${e.reason}`);
        break;
      case 'phase-start':
        for (const t of e.targets)
          targets.set(t, {
            target: t,
            phase: e.phase,
            pending: [],
            done: 0,
            changed: 0,
            failed: false,
            started: Date.now(),
          });
        break;
      case 'batch': {
        const t = targets.get(e.target);
        if (t) t.pending = [...t.pending.slice(0, t.done), ...e.actions];
        break;
      }
      case 'action': {
        const t = targets.get(e.target);
        if (t) {
          t.done++;
          if (t.pending.length < t.done) t.pending.push(e.result.summary);
          if (e.result.wouldChange !== undefined) checkMode = true;
          if (e.result.changed || e.result.wouldChange || e.result.mayChange) t.changed++;
          if (e.result.error) t.failed = true;
        }
        break;
      }
      case 'target-end': {
        const t = targets.get(e.target);
        if (t) {
          t.finished = Date.now();
          t.failed = !e.result.ok;
        }
        break;
      }
      default:
        break;
    }
  };
  return {
    onEvent,
    stop: () => {
      clearInterval(timer);
      draw();
    },
  };
}
