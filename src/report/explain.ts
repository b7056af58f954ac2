/**
 * Readable reports: `explainSession` (what an operation did) and
 * `explainPlan` (what a plan function would do, without a node).
 */
import type { OperationResult } from '../operation/result.js';
import { hasDeferred } from '../plan/action.js';
import { isPalletError, PlanError } from '../core/errors.js';
import { prelude } from '../operation/batch.js';
import { Secrets } from '../core/secrets.js';
import { recordPlan } from '../plan/plan-fn.js';
import { conditionFlags, conditionName } from '../plan/flags.js';
import { newSession, scriptContext, type Session } from '../plan/session.js';
import { nodeStateRoot } from '../compute/node-state.js';
import { factsFacility } from '../plan/settings.js';
import type { PlanItem } from '../plan/types.js';
import type { Facts } from '../script/facts.js';
import { packagerForOs } from '../script/os.js';
import { groupSpec, type PhaseFn } from '../model/specs.js';
import type { Node } from '../core/types.js';
import { makeUser, type User } from '../core/user.js';

const indent = (s: string, pad: string) =>
  s
    .trimEnd()
    .split('\n')
    .map((l) => pad + l)
    .join('\n');

export interface ExplainSessionOptions {
  /** Show output and scripts (default true). */
  showDetail?: boolean;
  /** Show internal phases such as OS detection (default false). */
  showInternalPhases?: boolean;
}

/** A readable report of an operation's result. */
export function explainSession(result: OperationResult, opts: ExplainSessionOptions = {}): string {
  const detail = opts.showDetail ?? true;
  const out: string[] = [];
  const byGroup = (nodes: Node[]) => {
    const m = new Map<string, Node[]>();
    for (const n of nodes) m.set(n.groupName, [...(m.get(n.groupName) ?? []), n]);
    return m;
  };
  for (const [g, nodes] of byGroup(result.newNodes)) {
    out.push(`nodes created in ${g}: ${nodes.length}`);
    for (const n of nodes) out.push(`  ${n.primaryIp} ${n.hostname}`);
  }
  for (const [g, nodes] of byGroup(result.oldNodes)) out.push(`nodes destroyed in ${g}: ${nodes.length}`);
  const visible = result.results.filter((r) => opts.showInternalPhases || !r.phase.startsWith('pallet/'));
  const phases = [...new Set(visible.map((r) => r.phase))];
  out.push(`PHASES: ${phases.join(', ')}`);
  out.push(`GROUPS: ${[...new Set(visible.map((r) => r.groupName))].join(', ')}`);
  out.push(`RESULT: ${result.ok ? 'OK' : 'FAILED'}`);
  out.push('ACTIONS:');
  for (const phase of phases) {
    out.push(`  PHASE ${phase}:`);
    for (const group of new Set(visible.filter((r) => r.phase === phase).map((r) => r.groupName))) {
      out.push(`    GROUP ${group}:`);
      for (const r of visible.filter((x) => x.phase === phase && x.groupName === group)) {
        out.push(`      NODE ${r.node ? `${r.node.id} (${r.node.primaryIp})` : '(group)'}: ${r.ok ? 'OK' : 'ERROR'}`);
        for (const a of r.actions) {
          const status = a.error ? 'FAILED' : a.changed ? 'changed' : 'ok';
          out.push(`        ${a.location === 'origin' ? 'LOCAL ACTION' : 'ACTION ON NODE'}: ${a.summary} [${status}]`);
          if (a.context.length) out.push(`          CONTEXT: ${a.context.join(': ')}`);
          if (detail && a.script) out.push('          SCRIPT:', indent(a.script, '          | '));
          if (a.exit !== undefined) out.push(`          EXIT CODE: ${a.exit}`);
          if (detail && a.out.trim()) out.push('          OUTPUT:', indent(a.out, '          | '));
          if (a.error) {
            out.push(`          ERROR: ${a.error.message}`);
            if (detail && a.err.trim()) out.push(indent(a.err, '          ! '));
          }
        }
      }
    }
  }
  return `${out.join('\n')}\n`;
}

/** A one-line-per-node summary: `NODE id: OK|ERROR` per phase. */
export function sessionSummary(result: OperationResult): string {
  return (
    result.results
      .filter((r) => !r.phase.startsWith('pallet/'))
      .map((r) => {
        const changed = r.actions.filter((a) => a.changed).length;
        const failed = r.actions.filter((a) => a.error).length;
        return `${r.phase} ${r.groupName} ${r.node?.id ?? '(group)'}: ${r.ok ? 'OK' : 'ERROR'} (${r.actions.length} actions, ${changed} changed, ${failed} failed)`;
      })
      .join('\n') + '\n'
  );
}

export interface ExplainPlanOptions {
  osFamily?: string;
  osVersion?: string;
  packager?: string;
  groupName?: string;
  /** Arguments given to the plan function. */
  args?: unknown[];
  /** The admin user plan functions see (default: a placeholder 'admin'). */
  user?: User;
  /** Show the content files would get, decoded (sensitive content is not shown). */
  showContent?: boolean;
  /** The node's facts (`pallet facts --json`, or a live node's): plans that read `facts()` can then be shown. */
  facts?: Facts;
  /** The node's inventory variables. */
  vars?: Record<string, unknown>;
  /** Explain as this node of the service (its name, groups and inventory variables); nothing contacts it. */
  node?: Node;
}

interface Describe {
  session: Session;
  out: string[];
  secrets: Secrets;
  /** Lines every script starts with (shown once, at the top). */
  common: Set<string>;
  showContent: boolean;
}

function describeItems(items: ReadonlyArray<PlanItem>, pad: string, d: Describe): void {
  const { session, out, secrets } = d;
  for (const item of items) {
    if (item.type === 'when') {
      const name = conditionName(item.cond);
      const cond =
        typeof item.cond === 'string'
          ? `shell condition: ${item.cond}`
          : conditionFlags(item.cond)
            ? `${name}, decided on the node, in the batch`
            : `${name ?? 'controller predicate'}, evaluated at execution time`;
      out.push(`${pad}${item.negate ? 'WHEN NOT' : 'WHEN'} (${cond}):`);
      describeItems(item.then, `${pad}  `, d);
      continue;
    }
    const where = item.def.script ? 'on the node' : 'on the controller';
    out.push(`${pad}ACTION: ${item.def.summary(item.args)} (${item.def.name}, ${item.def.execution}, runs ${where})`);
    if (item.context.length) out.push(`${pad}  CONTEXT: ${item.context.join(': ')}`);
    if (item.options.flagOnChanged)
      out.push(`${pad}  SETS FLAG: ${item.options.flagOnChanged} (when it changes the node)`);
    if (!item.def.script) continue;
    if (hasDeferred(item.args)) {
      out.push(`${pad}  SCRIPT: (depends on arguments evaluated at execution time)`);
      continue;
    }
    const ctx = scriptContext(session, item.options);
    const compiled = item.def.script(item.args, ctx);
    secrets.add(...(compiled.sensitive ?? []));
    if (d.showContent && item.def.preview) {
      const content = item.def.preview(item.args, ctx);
      if (content !== undefined) out.push(`${pad}  CONTENT:`, indent(content || '(empty)', `${pad}  > `));
    }
    // The helpers every script starts with are shown once, at the top; what this action's options add stays.
    const own = prelude(item.options)
      .split('\n')
      .filter((l) => !d.common.has(l));
    out.push(`${pad}  SCRIPT:`, indent([...own, compiled.script].join('\n'), `${pad}  | `));
  }
}

/**
 * The actions and the exact scripts a plan function would run, computed
 * against a mock node (nothing is contacted).
 */
export async function explainPlan(plan: PhaseFn, opts: ExplainPlanOptions = {}): Promise<string> {
  const osFamily = opts.osFamily ?? opts.facts?.os.distribution ?? 'debian';
  const osVersion = opts.osVersion ?? opts.facts?.os.version ?? '12';
  const group = groupSpec(opts.groupName ?? 'mock-group');
  const node: Node = opts.node
    ? { ...opts.node, ...(opts.vars ? { vars: opts.vars } : {}), osFamily, osVersion }
    : {
        id: 'mock-node',
        hostname: opts.facts?.hostname ?? 'mock-node',
        ...(opts.vars ? { vars: opts.vars } : {}),
        groupName: group.groupName,
        primaryIp: '0.0.0.0',
        sshPort: 22,
        osFamily,
        osVersion,
        running: true,
        service: 'explain',
      };
  const groupNames = [...new Set([group.groupName, ...(opts.node?.groupNames ?? [])])];
  const target = { node, spec: group, groupNames };
  const packager = opts.packager ?? packagerForOs(osFamily, osVersion);
  const user = opts.user ?? makeUser('admin', { privateKeyPath: '/dev/null' });
  const session = newSession({
    target,
    phase: 'explain',
    user,
    stateRoot: nodeStateRoot(user, node),
    ...(opts.facts
      ? {
          planState: {
            host: {
              [node.id]: {
                settings: { [factsFacility]: { default: opts.facts as unknown as Record<string, unknown> } },
                flags: [],
                flagValues: {},
              },
            },
          },
        }
      : {}),
    os: { osFamily, osVersion, ...(packager ? { packager } : {}) },
  });
  let items: PlanItem[];
  try {
    items = await recordPlan(session, [plan], opts.args ?? []);
  } catch (e) {
    if (isPalletError(e)) throw e;
    const err = e as Error;
    throw new PlanError(
      `group ${group.groupName}: building the plan failed: ${err?.message ?? String(e)}`,
      { node: node.id, phase: 'explain' },
      { cause: e },
    );
  }
  const common = prelude({});
  const out: string[] = [
    `PLAN for ${osFamily} ${osVersion}${plan.planName ? ` (${plan.planName})` : ''}:`,
    '  EVERY SCRIPT STARTS WITH:',
    indent(common, '  | '),
  ];
  const secrets = Secrets.ofUser(session.user);
  describeItems(items, '  ', {
    session,
    out,
    secrets,
    common: new Set(common.split('\n')),
    showContent: opts.showContent ?? false,
  });
  // Redacted as a whole, once every action's secrets are known.
  return secrets.redact(`${out.join('\n')}\n`);
}
