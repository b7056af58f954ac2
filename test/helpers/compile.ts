/**
 * Compile a plan to the scripts its actions would run, for an OS family,
 * without a node (script-level tests).
 */
import { spawnSync } from 'node:child_process';
import { recordPlan } from '../../src/plan/plan-fn.js';
import { newSession, scriptContext, type Session } from '../../src/plan/session.js';
import type { PlanItem } from '../../src/plan/types.js';
import { packagerForOs } from '../../src/script/os.js';
import { groupSpec } from '../../src/model/specs.js';

export interface Os {
  osFamily: string;
  osVersion: string;
  packager?: string;
}

export const families: Os[] = [
  { osFamily: 'debian', osVersion: '12' },
  { osFamily: 'ubuntu', osVersion: '24.04' },
  { osFamily: 'centos', osVersion: '7' },
  { osFamily: 'rocky', osVersion: '9' },
  { osFamily: 'fedora', osVersion: '40' },
  { osFamily: 'amzn-linux', osVersion: '2' },
  { osFamily: 'alpine', osVersion: '3.20' },
  { osFamily: 'arch', osVersion: 'rolling' },
  { osFamily: 'opensuse-leap', osVersion: '15.6' },
  { osFamily: 'darwin', osVersion: '14' },
];

/** A session for plan-level tests: one Debian node 'n1' in group 'g', admin user 'admin'. */
export function testSession(environment: Record<string, unknown> = {}): Session {
  const node = {
    id: 'n1',
    hostname: 'n1',
    groupName: 'g',
    primaryIp: '0.0.0.0',
    sshPort: 22,
    running: true,
    service: 'test',
  };
  return newSession({
    target: { node, spec: groupSpec('g'), groupNames: ['g'] },
    phase: 'configure',
    environment,
    user: { username: 'admin' },
    os: { osFamily: 'debian', osVersion: '12', packager: 'apt' },
  });
}

/** The scripts of a plan's actions; with `check`, as check mode compiles them (`checked`: they honour it). */
export async function compile(
  plan: () => void,
  os: Os = families[0]!,
  o: { check?: boolean } = {},
): Promise<Array<{ action: string; script: string; checked?: boolean }>> {
  const g = groupSpec('g');
  const node = {
    id: 'n',
    hostname: 'n',
    groupName: 'g',
    primaryIp: '0.0.0.0',
    sshPort: 22,
    running: true,
    service: 'test',
    transport: 'ssh' as const,
  };
  const target = { node, spec: g, groupNames: ['g'] };
  const packager = os.packager ?? packagerForOs(os.osFamily, os.osVersion);
  const s = newSession({
    target,
    phase: 'test',
    user: { username: 'root' },
    os: { osFamily: os.osFamily, osVersion: os.osVersion, ...(packager ? { packager } : {}) },
  });
  const items = await recordPlan(s, [plan]);
  const out: Array<{ action: string; script: string; checked?: boolean }> = [];
  const walk = (items: PlanItem[]) => {
    for (const i of items) {
      if (i.type === 'when') walk(i.then);
      else if (i.def.script) {
        const c = i.def.script(i.args, scriptContext(s, i.options, o.check));
        out.push({ action: i.def.name, script: c.script, ...(c.checked ? { checked: true } : {}) });
      }
    }
  };
  walk(items);
  return out;
}

/** Syntax-check a script with `sh -n` and `bash -n`; returns the errors, or ''. */
export function syntaxErrors(script: string): string {
  const errs: string[] = [];
  for (const sh of ['sh', 'bash']) {
    const r = spawnSync(sh, ['-n'], { input: script, encoding: 'utf8' });
    if (r.status !== 0) errs.push(`${sh}: ${r.stderr}`);
  }
  return errs.join('\n');
}

/**
 * Run a compiled script on this machine with `path` replaced by a temporary
 * copy holding `content` (for scripts that only edit one file; `others`, paths it
 * may touch too, are replaced by missing files in the same directory): the file's
 * content afterwards and what the script reported (`changed`, `flag <name>`).
 */
export async function runOn(
  script: string,
  path: string,
  content: string | undefined,
  others: string[] = [],
): Promise<{ content: string; reported: string[]; status: number; stderr: string }> {
  const { mkdtempSync, readFileSync, writeFileSync, existsSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'pallet-runon-'));
  try {
    const file = join(dir, 'file');
    if (content !== undefined) writeFileSync(file, content);
    const helpers = [
      `pallet_changed() { echo changed >> ${join(dir, 'reported')}; }`,
      `pallet_set_flag() { echo "flag $1" >> ${join(dir, 'reported')}; }`,
    ].join('\n');
    let body = script.split(path).join(file);
    others.forEach((o, i) => (body = body.split(o).join(join(dir, `other${i}`))));
    const r = spawnSync('sh', ['-c', `${helpers}\n${body}`], { encoding: 'utf8' });
    const rep = join(dir, 'reported');
    return {
      content: existsSync(file) ? readFileSync(file, 'utf8') : '',
      reported: existsSync(rep) ? readFileSync(rep, 'utf8').trim().split('\n') : [],
      status: r.status ?? -1,
      stderr: r.stderr,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
