/**
 * Execution of one target's shaped plan for one phase.
 *
 * Target actions whose arguments are known are gathered into a batch and sent
 * in one round trip (see batch.ts). A batch is cut only where the semantics
 * need the controller: an origin action (asAction, withActionValues), an
 * argument given as a function, or a planWhen whose condition is a function.
 * The target stops at its first failed action.
 *
 * Why this file is long: one target's phase: batching, the controller-side steps that cut a batch, flag conditions, check mode
 * and result assembly interleave in one loop; splitting it would split that loop.
 */
import { isPlainObject } from '../core/merge.js';
import { DeferredArgs, hasDeferred } from '../plan/action.js';
import { conditionFlags, conditionName, hostFlags, recordFlags } from '../plan/flags.js';
import { newCheckTrack, runInSession, type ScriptValue, type Session, scriptContext } from '../plan/session.js';
import type { ActionCall, ActionDef, PlanItem, ScriptContext, WhenBlock } from '../plan/types.js';
import type { Transport } from '../transport/types.js';
import {
  buildBatch,
  flagTestCommand,
  FrameParser,
  newNonce,
  parseControl,
  splitSudoControl,
  type BatchEntry,
  type Frame,
} from './batch.js';
import { failedAction, type ActionResult } from './result.js';
import { Secrets } from '../core/secrets.js';
import { checkedResult, renderDiffs } from './check.js';

export interface ExecuteEvents {
  onAction?: (r: ActionResult) => void;
  /** The summaries of the actions (and shell conditions) of a batch about to run. */
  onBatch?: (summaries: string[]) => void;
}

export interface ExecuteOptions {
  session: Session;
  transport: Transport | undefined;
  /** Node id or group name, for messages. */
  where: string;
  signal?: AbortSignal;
  events?: ExecuteEvents;
  /** Count of round trips made (for tests and benchmarks). */
  roundTrips?: { count: number };
  /** The operation's secrets: every result is redacted with them where it is made. */
  secrets?: Secrets;
  /**
   * Check mode: scripts compiled with `check` run (they change nothing), other
   * scripts and origin actions do not; results say what would (or may) change.
   * The session must carry a `CheckTrack`.
   */
  check?: boolean;
}

/** An action result as every consumer receives it: each secret of the operation redacted. */
export function redactResult(r: ActionResult, secrets: Secrets): ActionResult {
  const out: ActionResult = {
    ...r,
    summary: secrets.redact(r.summary),
    out: secrets.redact(r.out),
    err: secrets.redact(r.err),
    flagValues: secrets.redactDeep(r.flagValues),
  };
  if (r.script !== undefined) out.script = secrets.redact(r.script);
  if (r.value !== undefined) out.value = secrets.redactDeep(r.value);
  if (r.error)
    out.error = { ...r.error, action: secrets.redact(r.error.action), message: secrets.redact(r.error.message) };
  if (r.would !== undefined) out.would = r.would.map((w) => secrets.redact(w));
  if (r.diff !== undefined) out.diff = secrets.redact(r.diff);
  if (r.mayChange !== undefined) out.mayChange = secrets.redact(r.mayChange);
  return out;
}

async function resolveDeferred(v: unknown): Promise<unknown> {
  if (typeof v === 'function') return await (v as () => unknown)();
  if (Array.isArray(v)) return Promise.all(v.map(resolveDeferred));
  if (isPlainObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = await resolveDeferred(x);
    return out;
  }
  return v;
}

/** Evaluate the execution-time arguments of a call and validate them. */
async function resolveArgs(args: unknown[]): Promise<unknown[]> {
  return Promise.all(
    args.map(async (a) =>
      DeferredArgs.is(a) ? a.parse(...((await resolveDeferred(a.params)) as unknown[])) : resolveDeferred(a),
    ),
  );
}

function isTargetAction(def: ActionDef): boolean {
  return typeof def.script === 'function';
}

/**
 * Can every item run inside one batch, without the controller? Shell conditions can; flag conditions
 * (`targetFlag`) can unless an action run through sudo comes before them in the batch (the batch cannot
 * read the flags such an action sets: its control records come back inside its output). `sudo.seen`
 * says whether the batch has one already, and is updated.
 */
function batchable(items: ReadonlyArray<PlanItem>, sudo: { seen: boolean }): boolean {
  for (const i of items) {
    if (i.type === 'when') {
      if (typeof i.cond !== 'string' && !(conditionFlags(i.cond) && !sudo.seen)) return false;
      if (!batchable(i.then, sudo)) return false;
    } else {
      if (!isTargetAction(i.def) || hasDeferred(i.args)) return false;
      if (i.options.sudoUser) sudo.seen = true;
    }
  }
  return true;
}

function contextLabel(context: string[]): string {
  return context.length ? ` (in ${context.join(': ')})` : '';
}

function tail(s: string, lines = 5): string {
  const t = s.trimEnd().split('\n');
  return t.slice(-lines).join('\n');
}

export async function executePlan(
  items: ReadonlyArray<PlanItem>,
  opts: ExecuteOptions,
): Promise<{ ok: boolean; actions: ActionResult[] }> {
  const s = opts.session;
  const check = opts.check ? (s.check ??= newCheckTrack()) : undefined;
  const results: ActionResult[] = [];
  const execSession: Session = { ...s, mode: 'execute' };
  const ctxFor = (call: { options: ActionCall['options'] }): ScriptContext =>
    scriptContext(s, call.options, check !== undefined);

  const secrets = opts.secrets ?? new Secrets();
  // The one place results are made: redacted here, so every consumer gets redacted data.
  // Check mode: reasons that make every would-change inside a block a may-change (its condition depended on a change).
  const mayContext: string[] = [];
  const push = (raw: ActionResult) => {
    if (check) checkedResult(raw, check, mayContext[0]);
    const r = redactResult(raw, secrets);
    results.push(r);
    opts.events?.onAction?.(r);
  };

  const failure = (
    call: { summary: string; context: string[]; action: string },
    message: string,
    exit?: number,
  ): ActionResult =>
    failedAction({
      action: call.action,
      summary: call.summary,
      context: call.context,
      err: message,
      error: {
        node: opts.where,
        phase: s.phase,
        action: call.summary,
        message: `${opts.where}: phase '${s.phase}', action '${call.summary}'${contextLabel(call.context)}: ${message}`,
        ...(exit === undefined ? {} : { exit }),
      },
    });

  /** Check mode: the flag of `call` (its flagOnChanged) may be set by it: a real run may or may not change. */
  const mayFlag = (call: ActionCall, by: string) => {
    const flag = call.options.flagOnChanged;
    if (flag && !check!.flagFrom.has(flag) && !check!.flagMay.has(flag)) check!.flagMay.set(flag, by);
  };

  /** Check mode: what reads the node value of `call` (which would or may change, or did not run) may change. */
  const taint = (call: ActionCall, r: ActionResult) => {
    const why = r.mayChange && !r.wouldChange ? 'may change' : 'would change';
    mayFlag(call, `'${r.summary}'`);
    for (const id of call.ids)
      if (!check!.tainted.has(id)) check!.tainted.set(id, `its input comes from '${r.summary}', which ${why}`);
  };

  /**
   * Check mode: run a controller function (a deferred argument, a predicate, a value transform), collecting
   * the reasons it read something a real run would change. A function that throws after such a read is not
   * an error: its input would be different in a real run.
   */
  const tracked = async <T>(fn: () => T | Promise<T>): Promise<{ value?: T; touched: string[]; error?: unknown }> => {
    const saved = check!.touched;
    check!.touched = [];
    try {
      const value = await runInSession(execSession, fn);
      return { value, touched: check!.touched };
    } catch (error) {
      if (check!.touched.length === 0) throw error;
      return { touched: check!.touched, error };
    } finally {
      check!.touched = saved;
    }
  };

  /** Check mode: a result for an action that is not run (its input depends on a change, or it has no check mode). */
  const notRunResult = (
    call: ActionCall,
    summary: string,
    location: 'target' | 'origin',
    mayChange: string | undefined,
  ): ActionResult => ({
    action: call.def.name,
    summary,
    context: call.context,
    location,
    out: '',
    err: '',
    changed: false,
    flags: [],
    flagValues: {},
    durationMs: 0,
    ...(mayChange ? { mayChange } : {}),
  });

  // -- batches ---------------------------------------------------------------
  interface Pending {
    key: string;
    kind: 'action' | 'test';
    call?: ActionCall;
    when?: WhenBlock;
    script: string;
    summary: string;
    /** Check mode: the script did not do its work (why). */
    notRun?: string;
    /** Check mode: this action has no check mode, so it was not run (why it may change). */
    unchecked?: string;
    /** Keys of the shell conditions around this entry, innermost last. */
    parents: string[];
    /** A flag test decided in the batch: the flags it tests. */
    flags?: string[];
  }
  let entries: BatchEntry[] = [];
  let stack: BatchEntry[][] = [entries];
  const pending = new Map<string, Pending>();
  let keyN = 0;
  // Has the batch being built an action run through sudo (after which flags cannot be tested in it)?
  let batchSudo = false;
  const testKeys: string[] = [];
  // Check mode: shell conditions evaluated after an earlier change would be: why their block may differ.
  const uncertain = new Map<string, string>();

  let uploads: Array<{ localPath: string; md5: string; summary: string }> = [];
  const compile = (call: ActionCall, args: unknown[]): { script: string; notRun?: string; unchecked?: string } => {
    const out = call.def.script!(args, ctxFor(call));
    if (check && !out.checked) {
      // A script that does not know check mode is never run by it.
      return { script: ':', unchecked: `${call.def.name} has no check mode, so check mode does not run it` };
    }
    const changes = out.changes;
    const comment = call.options.scriptComments
      ? `# ${call.def.summary(args).replace(/[\r\n]+/g, ' ')}${contextLabel(call.context)}\n`
      : '';
    const script =
      changes !== 'always'
        ? `${comment}${out.script}`
        : `${comment}(\n${out.script}\n)\npallet_rc=$?; [ "$pallet_rc" -eq 0 ] && pallet_changed; exit $pallet_rc`;
    // Known before the batch runs, so no output of this batch can show them (results are redacted in push).
    secrets.add(...(out.sensitive ?? []));
    // Check mode uploads nothing (the check script compares with the file's md5).
    if (!check) for (const u of out.uploads ?? []) uploads.push({ ...u, summary: call.def.summary(args) });
    return { script, ...(out.notRun ? { notRun: out.notRun } : {}) };
  };

  const addAction = (call: ActionCall, args: unknown[]) => {
    const key = `a${keyN++}`;
    const { script, notRun, unchecked } = compile(call, args);
    if (call.options.sudoUser) batchSudo = true;
    stack[stack.length - 1]!.push({ kind: 'action', key, script, options: call.options });
    pending.set(key, {
      key,
      kind: 'action',
      call,
      script,
      summary: call.def.summary(args),
      parents: [...testKeys],
      ...(notRun ? { notRun } : {}),
      ...(unchecked ? { unchecked } : {}),
    });
  };

  const addWhen = (w: WhenBlock, fill: () => void): string => {
    const key = `t${keyN++}`;
    const flags = conditionFlags(w.cond);
    const cond = flags ? flagTestCommand(flags) : (w.cond as string);
    const entry: BatchEntry = {
      kind: 'test',
      key,
      cond,
      negate: w.negate,
      options: w.options,
      then: [],
      ...(flags ? { flags } : {}),
    };
    stack[stack.length - 1]!.push(entry);
    const summary = `${w.negate ? 'planWhenNot' : 'planWhen'} ${flags ? conditionName(w.cond) : cond}`;
    pending.set(key, {
      key,
      kind: 'test',
      when: w,
      script: cond,
      summary,
      parents: [...testKeys],
      ...(flags ? { flags } : {}),
    });
    stack.push(entry.then);
    testKeys.push(key);
    try {
      fill();
    } finally {
      stack.pop();
      testKeys.pop();
    }
    return key;
  };

  const flush = async (): Promise<boolean> => {
    if (entries.length === 0) return true;
    const batch = entries;
    entries = [];
    stack = [entries];
    batchSudo = false;
    const nonce = newNonce();
    const batchUploads = uploads;
    uploads = [];
    const script = buildBatch(batch, nonce, opts.transport?.uploadDir, Boolean(check), hostFlags(s));
    let ok = true;
    // Check mode: after a check that fails for real, a real run would stop: later frames are not results.
    let stopped = false;
    let last = Date.now();
    const seen = new Set<string>();
    const onFrame = (f: Frame) => {
      const p = pending.get(f.key);
      if (!p) return;
      seen.add(f.key);
      if (stopped) return;
      const now = Date.now();
      const options = p.call?.options ?? p.when!.options;
      const split = options.sudoUser ? splitSudoControl(f.out, nonce) : { out: f.out, ctl: f.ctl };
      const m = { ...parseControl(split.ctl), out: split.out.toString('utf8') };
      const flagOnChanged = p.call?.options.flagOnChanged;
      // The batch did the same (pallet_note): a change sets the action's flag.
      if (flagOnChanged && m.changed && f.exit === 0 && !m.flags.includes(flagOnChanged)) m.flags.push(flagOnChanged);
      const err = f.err.toString('utf8');
      const r: ActionResult = {
        action: p.kind === 'test' ? (p.when!.negate ? 'planWhenNot' : 'planWhen') : p.call!.def.name,
        summary: p.summary,
        context: p.call?.context ?? p.when!.context,
        location: 'target',
        script: p.script,
        exit: f.exit,
        out:
          p.call?.def.privateOutput && f.exit === 0
            ? `(${split.out.length} bytes for the controller, not shown)`
            : m.out,
        err,
        changed: p.kind === 'test' ? false : m.changed,
        flags: m.flags,
        flagValues: m.flagValues,
        durationMs: now - last,
      };
      last = now;
      let excused: string | undefined;
      if (check) {
        r.changed = false;
        if (p.kind === 'action') {
          r.wouldChange = m.changed;
          if (m.would?.length) r.would = m.would;
          const diff = renderDiffs(m.diffs ?? []);
          if (diff.lines.length) r.would = [...(r.would ?? []), ...diff.lines];
          if (diff.text) r.diff = diff.text;
          if (m.may?.length) r.mayChange = m.may.join('; ');
          if (p.unchecked) r.mayChange = p.unchecked;
          const around = p.parents.map((k) => uncertain.get(k)).find(Boolean);
          if (around && r.wouldChange && !r.mayChange) r.mayChange = around;
          if (f.exit !== 0 && check.firstChange) {
            // Its check failed, but a change before it would have happened in a real run.
            excused = `its check failed (exit ${f.exit}: ${tail(err, 1) || tail(m.out, 1) || 'no output'}), but ${check.firstChange} would change the node before it runs`;
            r.mayChange = around ? `${around}; ${excused}` : excused;
          }
        } else if (p.flags) {
          // A flag test: true because a change would set the flag, or false while a change that may happen would set it.
          const taken = (f.exit === 0) !== p.when!.negate;
          const would = p.flags
            .filter((x) => check.flagFrom.has(x))
            .map((x) => `flag '${x}' would be set by ${check.flagFrom.get(x)}`)[0];
          const may = p.flags
            .filter((x) => check.flagMay.has(x))
            .map((x) => `flag '${x}' may be set by ${check.flagMay.get(x)}`)[0];
          if (would && taken) uncertain.set(p.key, `its condition depends on a change: ${would}`);
          else if (may && !taken) r.mayChange = `the condition is false now, but ${may}`;
          else if (may) uncertain.set(p.key, `its condition depends on a change: ${may}`);
        } else if (check.firstChange) {
          const why = `evaluated on the node as it is now, before ${check.firstChange} would change it`;
          uncertain.set(p.key, why);
          if ((f.exit === 0) === p.when!.negate) r.mayChange = `the condition is false now; it was ${why}`;
        }
      }
      if (p.kind === 'action' && f.exit !== 0 && !excused) {
        ok = false;
        const detail = tail(err) || tail(m.out) || '(no output)';
        r.error = {
          node: opts.where,
          phase: s.phase,
          action: p.summary,
          exit: f.exit,
          message: `${opts.where}: phase '${s.phase}', action '${p.summary}'${contextLabel(r.context)} failed with exit code ${f.exit}: ${detail}`,
        };
        if (check) stopped = true;
      }
      // In check mode `changed` of a node value says what a real run would report (so predicates choose as it would).
      const value: ScriptValue = {
        exit: f.exit,
        out: m.out,
        err,
        changed: check ? m.changed : r.changed,
        flags: m.flags,
        flagValues: m.flagValues,
      };
      if (p.call) for (const id of p.call.ids) s.values.set(id, value);
      if (p.when) s.values.set(p.when.id, value);
      if (check && p.call && p.notRun)
        for (const id of p.call.ids)
          check.tainted.set(id, `it reads '${p.summary}', which check mode does not run (${p.notRun})`);
      recordFlags(s, m.flags, m.flagValues);
      push(r);
      if (check && p.call && (r.wouldChange || r.mayChange)) {
        // The flags it reported would be set; its own flag, when it did not report it, may be (taint).
        for (const f of m.flags) if (!check.flagFrom.has(f)) check.flagFrom.set(f, `'${r.summary}'`);
        taint(p.call, r);
      }
    };
    const parser = new FrameParser(nonce, onFrame);
    opts.events?.onBatch?.([...pending.values()].map((p) => p.summary));
    if (!opts.transport) {
      push(
        failure(
          { action: 'script', summary: [...pending.values()][0]?.summary ?? 'script', context: [] },
          'this target has no node (group phases run on the controller only), so scripts cannot run here',
        ),
      );
      pending.clear();
      return false;
    }
    // Files the batch reads: sent first, on the same connection, unless the node has them already.
    for (const u of batchUploads) {
      try {
        if (!opts.transport.upload) throw new Error(`${opts.transport.description} cannot upload files`);
        await opts.transport.upload(u.localPath, u.md5);
      } catch (e) {
        push(
          failure(
            { action: 'upload', summary: u.summary, context: [] },
            `cannot upload ${u.localPath}: ${(e as Error).message}`,
          ),
        );
        pending.clear();
        return false;
      }
    }
    try {
      if (opts.roundTrips) opts.roundTrips.count++;
      const res = await opts.transport.run(script, {
        onStdout: (c) => parser.push(c),
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      parser.finish();
      const unreported = [...pending.values()].find((p) => !seen.has(p.key));
      if (ok && unreported && opts.signal?.aborted) {
        ok = false;
        push(
          failure(
            {
              action: unreported.call?.def.name ?? 'planWhen',
              summary: unreported.summary,
              context: unreported.call?.context ?? [],
            },
            'the operation was stopped before this action ran',
          ),
        );
      } else if (ok && res.exit !== 0 && unreported) {
        ok = false;
        push(
          failure(
            {
              action: unreported.call?.def.name ?? 'planWhen',
              summary: unreported.summary,
              context: unreported.call?.context ?? [],
            },
            `the script could not run on ${opts.transport.description} (exit ${res.exit}): ${tail(res.stderr.toString('utf8') + parser.garbage) || 'no output'}`,
            res.exit,
          ),
        );
      }
    } catch (e) {
      ok = false;
      const first = [...pending.values()].find((p) => !seen.has(p.key));
      push(
        failure(
          {
            action: first?.call?.def.name ?? 'script',
            summary: first?.summary ?? 'script',
            context: first?.call?.context ?? [],
          },
          `could not run on ${opts.transport.description}: ${(e as Error).message}`,
        ),
      );
    }
    pending.clear();
    return ok;
  };

  // -- walking the plan -------------------------------------------------------
  const fill = (items: ReadonlyArray<PlanItem>) => {
    for (const item of items) {
      if (item.type === 'when') addWhen(item, () => fill(item.then));
      else addAction(item, item.args);
    }
  };

  const runOrigin = async (call: ActionCall): Promise<boolean> => {
    const started = Date.now();
    const summary = call.def.summary(call.args);
    if (check && call.def.checkRun !== true) {
      if (call.def.checkRun !== 'value') {
        // Code on the controller that may act on the node: not run. What reads its value may change.
        for (const id of call.ids) check.tainted.set(id, `it reads '${summary}', which check mode does not run`);
        mayFlag(call, `'${summary}', which check mode does not run`);
        push(notRunResult(call, summary, 'origin', undefined));
        return true;
      }
      const t = await tracked(() => call.def.run!(call.args, ctxFor(call)));
      if (t.touched.length) for (const id of call.ids) check.tainted.set(id, t.touched[0]!);
      if (!('error' in t)) for (const id of call.ids) s.values.set(id, t.value);
      push({
        ...notRunResult(call, summary, 'origin', undefined),
        durationMs: Date.now() - started,
        ...('error' in t ? {} : { value: t.value }),
      });
      return true;
    }
    try {
      const value = await runInSession(execSession, () => call.def.run!(call.args, ctxFor(call)));
      for (const id of call.ids) s.values.set(id, value);
      const changed = call.def.changedBy ? call.def.changedBy(value) : false;
      const flag = call.options.flagOnChanged;
      const flags = changed && flag ? [flag] : [];
      recordFlags(s, flags, {});
      if (check && flag && changed && !check.flagFrom.has(flag)) check.flagFrom.set(flag, `'${summary}'`);
      push({
        action: call.def.name,
        summary,
        context: call.context,
        location: 'origin',
        out: '',
        err: '',
        changed: check ? false : changed,
        ...(check ? { wouldChange: changed } : {}),
        flags,
        flagValues: {},
        durationMs: Date.now() - started,
        value,
      });
      if (check && changed) taint(call, results[results.length - 1]!);
      return true;
    } catch (e) {
      push({
        ...failure(
          { action: call.def.name, summary, context: call.context },
          `threw ${(e as Error).name}: ${(e as Error).message}`,
        ),
        durationMs: Date.now() - started,
      });
      return false;
    }
  };

  /** Check mode: walk a block whose condition depended on a change: every change inside "may" happen. */
  const walkMay = async (reason: string, items: ReadonlyArray<PlanItem>): Promise<boolean> => {
    mayContext.push(reason);
    try {
      return (await walk(items)) && (await flush());
    } finally {
      mayContext.pop();
    }
  };

  const walk = async (items: ReadonlyArray<PlanItem>): Promise<boolean> => {
    for (const item of items) {
      if (opts.signal?.aborted) {
        if (!(await flush())) return false;
        push(failure({ action: 'abort', summary: 'operation aborted', context: [] }, 'the operation was aborted'));
        return false;
      }
      try {
        if (item.type === 'action') {
          if (!isTargetAction(item.def)) {
            if (!(await flush())) return false;
            if (!(await runOrigin(item))) return false;
          } else if (hasDeferred(item.args)) {
            if (!(await flush())) return false;
            if (check) {
              const t = await tracked(() => resolveArgs(item.args));
              if (t.touched.length) {
                // Its arguments come from a change a real run would make first: not run, "may change".
                const r = notRunResult(item, item.def.summary(item.args), 'target', t.touched[0]);
                push(r);
                taint(item, r);
                continue;
              }
              addAction(item, t.value!);
            } else {
              const args = await runInSession(execSession, () => resolveArgs(item.args));
              addAction(item, args);
            }
          } else {
            addAction(item, item.args);
          }
        } else if (
          (typeof item.cond === 'string' || conditionFlags(item.cond)) &&
          batchable([item], { seen: batchSudo })
        ) {
          addWhen(item, () => fill(item.then));
        } else {
          if (!(await flush())) return false;
          let taken: boolean;
          if (typeof item.cond === 'string') {
            const key = addWhen({ ...item, then: [] }, () => {});
            if (!(await flush())) return false;
            taken = ((s.values.get(item.id) as ScriptValue | undefined)?.exit === 0) !== item.negate;
            const why = uncertain.get(key);
            if (why && taken) {
              if (!(await walkMay(`its condition was ${why}`, item.then))) return false;
              continue;
            }
          } else {
            const cond = item.cond;
            const started = Date.now();
            let v: unknown;
            let depends: string | undefined;
            if (check) {
              const t = await tracked(() => cond());
              v = t.value;
              depends = t.touched[0];
            } else {
              v = await runInSession(execSession, () => cond());
            }
            taken = Boolean(v) !== item.negate;
            const name = conditionName(cond);
            push({
              action: item.negate ? 'planWhenNot' : 'planWhen',
              summary: `${item.negate ? 'planWhenNot' : 'planWhen'} ${name ?? '(controller predicate)'}`,
              ...(depends && !taken ? { mayChange: `the condition is false now, but ${depends}` } : {}),
              context: item.context,
              location: 'origin',
              out: '',
              err: '',
              changed: false,
              flags: [],
              flagValues: {},
              durationMs: Date.now() - started,
              value: Boolean(v),
            });
            if (depends && taken) {
              // Every change inside is "may change": the condition holds because of a change a real run would make.
              if (!(await walkMay(`its condition depends on a change: ${depends}`, item.then))) return false;
              continue;
            }
          }
          if (taken && !(await walk(item.then))) return false;
        }
      } catch (e) {
        await flush();
        const summary = item.type === 'action' ? item.def.summary(item.args) : 'planWhen';
        push(
          failure(
            { action: item.type === 'action' ? item.def.name : 'planWhen', summary, context: item.context },
            `${(e as Error).name}: ${(e as Error).message}`,
          ),
        );
        return false;
      }
    }
    return true;
  };

  let ok = await walk(items);
  if (ok) ok = await flush();
  return { ok, actions: results };
}
