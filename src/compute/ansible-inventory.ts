/**
 * Ansible inventories (INI and YAML) read as node-list entries, so a team can point pallet at the inventory it
 * already has: `pallet -P ansible:inventory.ini lift`, or `inventory: ./inventory.yml` in a node-list service.
 *
 * Read as Ansible reads them:
 * - INI: `[group]` hosts, `[group:vars]`, `[group:children]`, hosts before any section are `ungrouped`; a host
 *   line is split like a shell line (`#` starts a comment, quotes group), and every value, inline or in a
 *   `:vars` section, is read as a Python literal when it is one (`8080` is a number, `'a b'` a string,
 *   `True` a boolean) and kept as written otherwise; host ranges (`web[01:20]`, `db-[a:c]`) and `host:port`.
 * - YAML: groups with `hosts`, `vars` and `children`, from `all` down (YAML 1.1, as PyYAML reads it).
 * - `group_vars/` and `host_vars/` beside the inventory (`NAME`, `NAME.yml`, `NAME.yaml`, `NAME.json`, or a
 *   directory `NAME/` of such files).
 * - Variables: a host's variables are, from weakest to strongest, the inventory's group variables (`all`, then
 *   parent groups before their children, then by name), the `group_vars/` files in the same order, the
 *   host's own inventory variables, its `host_vars/` file. Every variable is a node variable (`nodeVars()`,
 *   Jinja templates).
 *
 * Connection variables pallet uses: `ansible_host` (the address), `ansible_port`, `ansible_user`,
 * `ansible_ssh_private_key_file`, `ansible_connection` (`ssh` or `local`), `ansible_become` (false: no sudo),
 * `ansible_become_user` (a relative key path is read from the current directory, as Ansible does). Other `ansible_*` connection keys are reported once each and not used; passwords
 * (`ansible_password`, `ansible_become_password`) are never read from an inventory (give them through the
 * admin user's `passwordEnv`/`sudoPasswordEnv`) and are dropped from the node's variables. Files encrypted with
 * ansible-vault, and `!vault` values, are reported and not read.
 *
 * Why this file is long: one file format read as Ansible reads it (INI, YAML, ranges, vars files, precedence); kept in one
 * place so it can be compared with Ansible's own inventory plugins rule by rule.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, extname, join, resolve } from 'node:path';
import { SpecError } from '../core/errors.js';
import type { NodeListEntry } from './types.js';
import { pythonLiteral } from './python-literal.js';
import { yaml } from '../core/lazy.js';

/** A group as the inventory declares it. */
export interface InventoryGroup {
  name: string;
  vars: Record<string, unknown>;
  children: string[];
  /** Hosts declared directly in the group, in file order. */
  hosts: string[];
}

/** What an inventory file says, before variables are merged. */
export interface ParsedInventory {
  groups: Map<string, InventoryGroup>;
  /** Each host's own variables (from its host lines or entries), in the order hosts first appear. */
  hosts: Map<string, Record<string, unknown>>;
  /** A port given in the host pattern (`web1:2222`). */
  ports: Map<string, number>;
}

/** What reading an inventory gives: the node-list entries, and what was not used (each said once). */
export interface AnsibleInventory {
  entries: NodeListEntry[];
  warnings: string[];
}

class InventoryError extends SpecError {
  constructor(source: string, line: number | undefined, message: string) {
    super(`${source}${line ? `:${line}` : ''}: ${message}`, source);
  }
}

function newInventory(): ParsedInventory {
  const groups = new Map<string, InventoryGroup>();
  for (const name of ['all', 'ungrouped']) groups.set(name, { name, vars: {}, children: [], hosts: [] });
  return { groups, hosts: new Map(), ports: new Map() };
}

function group(inv: ParsedInventory, name: string): InventoryGroup {
  let g = inv.groups.get(name);
  if (!g) inv.groups.set(name, (g = { name, vars: {}, children: [], hosts: [] }));
  return g;
}

function addHost(
  inv: ParsedInventory,
  g: InventoryGroup,
  host: string,
  vars: Record<string, unknown>,
  port: number | undefined,
): void {
  if (!g.hosts.includes(host)) g.hosts.push(host);
  // A port in the pattern is the host's `ansible_port`, as Ansible sets it.
  inv.hosts.set(host, {
    ...(inv.hosts.get(host) ?? {}),
    ...(port !== undefined ? { ansible_port: port } : {}),
    ...vars,
  });
  if (port !== undefined) inv.ports.set(host, port);
}

/** Expand one `[a:b(:step)]` range, then the rest of the pattern (Ansible's `expand_hostname_range`). */
function expandRanges(pattern: string): string[] {
  const m = /^(.*?)\[([^\]]*)\](.*)$/.exec(pattern);
  if (!m) return [pattern];
  const [, head, range, tail] = m as unknown as [string, string, string, string];
  const parts = range.split(':');
  if (parts.length < 2 || parts.length > 3)
    throw new Error(`host range '[${range}]' must be [begin:end] or [begin:end:step]`);
  const beg = parts[0] || '0';
  const end = parts[1]!;
  const step = parts[2] ? Number(parts[2]) : 1;
  if (!end || !Number.isInteger(step) || step < 1)
    throw new Error(`host range '[${range}]' needs an end and a positive step`);
  const names: string[] = [];
  if (/^[a-zA-Z]$/.test(beg) && /^[a-zA-Z]$/.test(end)) {
    for (let c = beg.charCodeAt(0); c <= end.charCodeAt(0); c += step) names.push(String.fromCharCode(c));
  } else if (/^\d+$/.test(beg) && /^\d+$/.test(end)) {
    const width = beg.length > 1 && beg.startsWith('0') ? beg.length : 0;
    if (width && beg.length !== end.length)
      throw new Error(`host range '[${range}]' must give begin and end with the same number of digits`);
    for (let n = Number(beg); n <= Number(end); n += step) names.push(String(n).padStart(width, '0'));
  } else {
    throw new Error(`host range '[${range}]' must be numbers or single letters`);
  }
  const tails = expandRanges(tail);
  return names.flatMap((n) => tails.map((t) => `${head}${n}${t}`));
}

/** A host pattern: the names it expands to and the port it gives (`web[1:3]:2222`, `[2001:db8::1]:22`). */
export function expandHostPattern(pattern: string): { hosts: string[]; port?: number } {
  const v6 = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(pattern);
  if (v6 && v6[1]!.includes(':')) return { hosts: [v6[1]!], ...(v6[2] ? { port: Number(v6[2]) } : {}) };
  // A port ends the pattern after a ':' that is outside every range, and the host part has no other ':'.
  const outside = pattern.replace(/\[[^\]]*\]/g, (r) => 'x'.repeat(r.length));
  const colons = [...outside].filter((c) => c === ':').length;
  let host = pattern;
  let port: number | undefined;
  if (colons === 1) {
    const at = outside.indexOf(':');
    const p = pattern.slice(at + 1);
    if (!/^\d+$/.test(p)) throw new Error(`host pattern '${pattern}': a ':' must be followed by a port number`);
    host = pattern.slice(0, at);
    port = Number(p);
  }
  if (!host) throw new Error(`host pattern '${pattern}': empty host name`);
  return { hosts: colons > 1 ? [host] : expandRanges(host), ...(port !== undefined ? { port } : {}) };
}

/** Split a host line as Python's `shlex.split(line, comments=True)` does (POSIX rules). */
export function shlexSplit(line: string): string[] {
  const out: string[] = [];
  let tok = '';
  let inTok = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (/\s/.test(c)) {
      if (inTok) out.push(tok);
      tok = '';
      inTok = false;
    } else if (c === '#') {
      break;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error('No closing quotation');
      tok += line.slice(i + 1, end);
      inTok = true;
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\' && (line[j + 1] === '"' || line[j + 1] === '\\')) j++;
        tok += line[j];
      }
      if (j >= line.length) throw new Error('No closing quotation');
      inTok = true;
      i = j;
    } else if (c === '\\') {
      if (i + 1 >= line.length) throw new Error('No escaped character');
      tok += line[++i];
      inTok = true;
    } else {
      tok += c;
      inTok = true;
    }
  }
  if (inTok) out.push(tok);
  return out;
}

/** An INI value as Ansible reads it: a Python literal when it is one, else the text as written. */
const iniValue = (v: string): unknown => {
  const lit = pythonLiteral(v);
  return lit ? lit.value : v;
};

/** Parse an INI inventory. Errors name the file and line. */
export function parseIniInventory(text: string, source = 'inventory'): ParsedInventory {
  const inv = newInventory();
  let current = group(inv, 'ungrouped');
  let state: 'hosts' | 'vars' | 'children' = 'hosts';
  const declared = new Set<string>(['all', 'ungrouped']);
  const pending: Array<{ name: string; line: number; what: string }> = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, idx) => {
    const n = idx + 1;
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) return;
    const sec = /^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$/.exec(line);
    if (sec) {
      const kind = sec[2] ?? 'hosts';
      if (kind !== 'hosts' && kind !== 'vars' && kind !== 'children')
        throw new InventoryError(
          source,
          n,
          `section [${sec[1]}:${kind}] has an unknown type '${kind}' (hosts, vars or children)`,
        );
      current = group(inv, sec[1]!);
      state = kind;
      if (kind === 'vars')
        pending.push({ name: sec[1]!, line: n, what: `[${sec[1]}:vars] is for a group that is never declared` });
      else declared.add(sec[1]!);
      return;
    }
    if (line.startsWith('[') && line.endsWith(']'))
      throw new InventoryError(
        source,
        n,
        `invalid section '${line}': no spaces or other characters are allowed in a section name`,
      );
    try {
      if (state === 'hosts') {
        const tokens = shlexSplit(line);
        if (tokens.length === 0) return;
        const { hosts, port } = expandHostPattern(tokens[0]!);
        const vars: Record<string, unknown> = {};
        for (const t of tokens.slice(1)) {
          const eq = t.indexOf('=');
          if (eq <= 0) throw new Error(`expected key=value after the host name, got '${t}'`);
          vars[t.slice(0, eq)] = iniValue(t.slice(eq + 1));
        }
        for (const h of hosts) addHost(inv, current, h, vars, port);
      } else if (state === 'vars') {
        const eq = line.indexOf('=');
        if (eq <= 0) throw new Error(`expected key=value in [${current.name}:vars], got '${line}'`);
        current.vars[line.slice(0, eq).trim()] = iniValue(line.slice(eq + 1).trim());
      } else {
        const child = /^([^:\]\s]+)\s*(?:#.*)?$/.exec(line)?.[1];
        if (!child) throw new Error(`expected a group name in [${current.name}:children], got '${line}'`);
        if (!current.children.includes(child)) current.children.push(child);
        pending.push({
          name: child,
          line: n,
          what: `[${current.name}:children] names the group '${child}', which is never declared`,
        });
      }
    } catch (e) {
      if (e instanceof InventoryError) throw e;
      throw new InventoryError(source, n, (e as Error).message);
    }
  });
  for (const p of pending) {
    if (!declared.has(p.name))
      throw new InventoryError(source, p.line, `${p.what} (declare it with [${p.name}] or [${p.name}:children])`);
  }
  return inv;
}

const isMap = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Parse a YAML inventory (`all:` with `hosts`, `vars`, `children`). */
export function parseYamlInventory(
  text: string,
  source = 'inventory',
  warn: (w: string) => void = () => {},
): ParsedInventory {
  const data = readYaml(text, source, warn);
  const inv = newInventory();
  if (data === null || data === undefined) return inv;
  if (!isMap(data))
    throw new InventoryError(
      source,
      undefined,
      'a YAML inventory is a mapping of groups (all: { hosts, vars, children })',
    );
  const walk = (name: string, def: unknown, path: string) => {
    const g = group(inv, name);
    if (def === null || def === undefined) return;
    if (!isMap(def))
      throw new InventoryError(source, undefined, `${path}: a group is a mapping with hosts, vars and children`);
    for (const [k, v] of Object.entries(def)) {
      if (k === 'hosts') {
        if (v === null) continue;
        if (!isMap(v))
          throw new InventoryError(
            source,
            undefined,
            `${path}.hosts: a mapping of host names (a host's value is its variables, or empty)`,
          );
        for (const [pattern, hv] of Object.entries(v)) {
          if (hv !== null && hv !== undefined && !isMap(hv))
            throw new InventoryError(
              source,
              undefined,
              `${path}.hosts.${pattern}: a host's value is a mapping of variables (or empty)`,
            );
          let expanded;
          try {
            expanded = expandHostPattern(pattern);
          } catch (e) {
            throw new InventoryError(source, undefined, `${path}.hosts: ${(e as Error).message}`);
          }
          for (const h of expanded.hosts)
            addHost(inv, g, h, (hv as Record<string, unknown> | null) ?? {}, expanded.port);
        }
      } else if (k === 'vars') {
        if (v === null) continue;
        if (!isMap(v)) throw new InventoryError(source, undefined, `${path}.vars: a mapping of variables`);
        Object.assign(g.vars, v);
      } else if (k === 'children') {
        if (v === null) continue;
        if (!isMap(v)) throw new InventoryError(source, undefined, `${path}.children: a mapping of groups`);
        for (const [child, cv] of Object.entries(v)) {
          if (!g.children.includes(child)) g.children.push(child);
          walk(child, cv, `${path}.children.${child}`);
        }
      } else {
        warn(`${source}: ${path}: '${k}' is not a key of a group (hosts, vars, children): ignored`);
      }
    }
  };
  for (const [name, def] of Object.entries(data)) walk(name, def, name);
  return inv;
}

function readYaml(text: string, source: string, warn: (w: string) => void): unknown {
  const Y = yaml();
  const vault = { tag: '!vault', resolve: () => vaultMarker };
  const unsafe = { tag: '!unsafe', resolve: (s: string) => s };
  const doc = Y.parseDocument(text, {
    version: '1.1',
    customTags: [vault, unsafe],
    prettyErrors: true,
    uniqueKeys: false,
  });
  if (doc.errors.length)
    throw new InventoryError(source, undefined, `cannot parse it as YAML: ${doc.errors[0]!.message}`);
  for (const w of doc.warnings) warn(`${source}: ${w.message}`);
  return stripVault(doc.toJS({ maxAliasCount: 1000 }), source, warn);
}

const vaultMarker = Symbol('vault');

/** Values encrypted with ansible-vault cannot be read: they are left out, and said. */
function stripVault(v: unknown, source: string, warn: (w: string) => void, path = ''): unknown {
  if (v === vaultMarker) return undefined;
  if (Array.isArray(v)) return v.map((x, i) => stripVault(x, source, warn, `${path}[${i}]`));
  if (isMap(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (x === vaultMarker) {
        warn(
          `${source}: '${path ? `${path}.` : ''}${k}' is encrypted with ansible-vault: pallet cannot read it, so it is left out (give secrets through the environment or a secret store)`,
        );
        continue;
      }
      out[k] = stripVault(x, source, warn, path ? `${path}.${k}` : k);
    }
    return out;
  }
  return v;
}

/** Read an inventory file, INI or YAML (by extension, else by content). */
export function parseInventoryFile(path: string, warn: (w: string) => void = () => {}): ParsedInventory {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new SpecError(`Ansible inventory ${path}: cannot read it: ${(e as Error).message}`, path);
  }
  if (text.startsWith('$ANSIBLE_VAULT'))
    throw new SpecError(
      `Ansible inventory ${path}: it is encrypted with ansible-vault; pallet cannot read it. Decrypt it to a file first (ansible-vault view).`,
      path,
    );
  const ext = extname(path).toLowerCase();
  const yamlLike =
    ext === '.yml' ||
    ext === '.yaml' ||
    ext === '.json' ||
    (ext !== '.ini' &&
      /^\s*(---|all\s*:|[A-Za-z0-9_-]+\s*:\s*(#.*)?$)/m.test(
        text.split('\n').find((l) => l.trim() && !l.trim().startsWith('#')) ?? '',
      ));
  return yamlLike ? parseYamlInventory(text, path, warn) : parseIniInventory(text, path);
}

/** `group_vars/NAME` or `host_vars/NAME` beside the inventory: one file or a directory of files, merged in name order. */
function varsFiles(dir: string, name: string): string[] {
  const out: string[] = [];
  for (const ext of ['', '.yml', '.yaml', '.json']) {
    const p = join(dir, `${name}${ext}`);
    if (!existsSync(p)) continue;
    if (statSync(p).isDirectory()) {
      const walk = (d: string) => {
        for (const f of readdirSync(d).sort()) {
          const q = join(d, f);
          if (statSync(q).isDirectory()) walk(q);
          else if (/^[^.].*?(\.ya?ml|\.json)?$/.test(f) && !/\.(md|txt|orig|bak|swp)$|~$/.test(f)) out.push(q);
        }
      };
      walk(p);
    } else out.push(p);
  }
  return out;
}

function readVarsFiles(dir: string, name: string, warn: (w: string) => void): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of varsFiles(dir, name)) {
    const text = readFileSync(f, 'utf8');
    if (text.startsWith('$ANSIBLE_VAULT')) {
      warn(`${f} is encrypted with ansible-vault: pallet cannot read it, so its variables are left out`);
      continue;
    }
    const data = readYaml(text, f, warn);
    if (data === null || data === undefined) continue;
    if (!isMap(data)) throw new SpecError(`${f}: variables must be a mapping`, f);
    Object.assign(out, data);
  }
  return out;
}

/** Connection variables pallet reads, and those it does not (reported once each). */
const used = new Set([
  'ansible_host',
  'ansible_ssh_host',
  'ansible_port',
  'ansible_ssh_port',
  'ansible_user',
  'ansible_ssh_user',
  'ansible_ssh_private_key_file',
  'ansible_private_key_file',
  'ansible_connection',
  'ansible_become',
  'ansible_become_user',
  'ansible_become_method',
]);
const passwords = /^ansible_(ssh_)?pass(word)?$|^ansible_become_pass(word)?$|^ansible_sudo_pass(word)?$/;
const noPython = new Set(['ansible_python_interpreter']);
/** Connection keys that change how Ansible reaches a host: not used, so said (other variables are plain data). */
const connectionKey =
  /^ansible_(ssh_|sftp_|scp_|become_|shell_|connection|network_|paramiko_|timeout|pipelining|remote_tmp|winrm_|psrp_|httpapi_|docker_|kubectl_|host_key|ssh$|sudo)/;

const truthy = (v: unknown, where: string): boolean => {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  const s = String(v).toLowerCase();
  if (['yes', 'y', 'true', 't', 'on', '1'].includes(s)) return true;
  if (['no', 'n', 'false', 'f', 'off', '0'].includes(s)) return false;
  throw new SpecError(`${where}: '${String(v)}' is not a boolean`, where);
};

/**
 * Read an Ansible inventory (and the `group_vars/`, `host_vars/` beside it) as node-list entries: one per host,
 * named by its inventory name, in its first group (`groupName`) and all its groups and their parents
 * (`groups`), with its merged variables.
 */
export function readAnsibleInventory(path: string): AnsibleInventory {
  const abs = resolve(path);
  const warnings: string[] = [];
  const warn = (w: string) => {
    if (!warnings.includes(w)) warnings.push(w);
  };
  const inv = parseInventoryFile(abs, warn);
  const base = dirname(abs);
  // Depth of each group below `all` (parents before children); a cycle is an error.
  const depth = new Map<string, number>([['all', 0]]);
  const parents = new Map<string, Set<string>>();
  for (const g of inv.groups.values()) {
    for (const c of g.children) {
      if (!parents.has(c)) parents.set(c, new Set());
      parents.get(c)!.add(g.name);
    }
  }
  const depthOf = (name: string, seen: string[] = []): number => {
    if (depth.has(name)) return depth.get(name)!;
    if (seen.includes(name))
      throw new SpecError(`Ansible inventory ${abs}: groups contain each other: ${[...seen, name].join(' -> ')}`, abs);
    const ps = [...(parents.get(name) ?? [])].filter((p) => p !== 'all');
    const d = ps.length ? Math.max(...ps.map((p) => depthOf(p, [...seen, name]))) + 1 : 1;
    depth.set(name, d);
    return d;
  };
  for (const name of inv.groups.keys()) depthOf(name);
  const ancestors = (name: string, acc = new Set<string>()): Set<string> => {
    for (const p of parents.get(name) ?? []) {
      if (!acc.has(p)) {
        acc.add(p);
        ancestors(p, acc);
      }
    }
    return acc;
  };
  const groupVarsFiles = new Map<string, Record<string, unknown>>();
  const fileVars = (name: string) => {
    let v = groupVarsFiles.get(name);
    if (!v) groupVarsFiles.set(name, (v = readVarsFiles(join(base, 'group_vars'), name, warn)));
    return v;
  };
  const notUsed = new Map<string, { hosts: string[]; why: string }>();
  const note = (key: string, host: string, why: string) => {
    const n = notUsed.get(key) ?? { hosts: [], why };
    if (!n.hosts.includes(host)) n.hosts.push(host);
    notUsed.set(key, n);
  };
  const entries: NodeListEntry[] = [];
  for (const [host, own] of inv.hosts) {
    const direct = [...inv.groups.values()].filter((g) => g.hosts.includes(host)).map((g) => g.name);
    const all = new Set<string>(direct);
    for (const d of direct) for (const a of ancestors(d)) all.add(a);
    all.delete('all');
    if ([...all].some((g) => g !== 'ungrouped')) all.delete('ungrouped');
    else all.add('ungrouped');
    const order = ['all', ...[...all].sort((a, b) => depth.get(a)! - depth.get(b)! || a.localeCompare(b))];
    const vars: Record<string, unknown> = {};
    for (const g of order) Object.assign(vars, inv.groups.get(g)?.vars ?? {});
    for (const g of order) Object.assign(vars, fileVars(g));
    Object.assign(vars, own, readVarsFiles(join(base, 'host_vars'), host, warn));
    const where = `${abs}: host '${host}'`;
    for (const k of Object.keys(vars)) {
      if (passwords.test(k)) {
        note(
          k,
          host,
          'passwords are never read from an inventory; give them through the admin user (passwordEnv, sudoPasswordEnv in ~/.pallet/config.yaml); dropped from the node variables',
        );
        delete vars[k];
      } else if (noPython.has(k)) note(k, host, 'pallet needs no Python on the node: ignored');
      else if (!used.has(k) && connectionKey.test(k))
        note(k, host, "not supported by pallet: ignored (the node is reached with pallet's own SSH settings)");
    }
    const str = (k: string) => (vars[k] === undefined || vars[k] === null ? undefined : String(vars[k]));
    const ip = str('ansible_host') ?? str('ansible_ssh_host') ?? host;
    const portRaw = vars.ansible_port ?? vars.ansible_ssh_port ?? inv.ports.get(host);
    const port = portRaw === undefined ? undefined : Number(portRaw);
    if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535))
      throw new SpecError(`${where}: ansible_port '${String(portRaw)}' is not a port number`, abs);
    const connection = str('ansible_connection');
    let transport: 'ssh' | 'local' | undefined;
    if (connection === 'local') transport = 'local';
    else if (
      connection === undefined ||
      ['ssh', 'smart', 'paramiko', 'paramiko_ssh', 'ansible.builtin.ssh', 'ansible.builtin.paramiko_ssh'].includes(
        connection,
      )
    )
      transport = 'ssh';
    else
      note(
        'ansible_connection',
        host,
        `'${connection}' is not a connection pallet has (ssh, local): the node is reached over SSH`,
      );
    const method = str('ansible_become_method');
    if (method !== undefined && method !== 'sudo')
      note('ansible_become_method', host, `'${method}': pallet becomes root with sudo only`);
    const username = str('ansible_user') ?? str('ansible_ssh_user');
    const key = str('ansible_ssh_private_key_file') ?? str('ansible_private_key_file');
    const become =
      vars.ansible_become === undefined ? undefined : truthy(vars.ansible_become, `${where}: ansible_become`);
    const becomeUser = str('ansible_become_user');
    const primary = direct.find((g) => g !== 'all' && g !== 'ungrouped') ?? 'ungrouped';
    const adminUser = {
      ...(username ? { username } : {}),
      ...(key ? { privateKeyPath: resolve(key.replace(/^~(?=$|\/)/, homedir())) } : {}),
      // Ansible logs in without becoming anyone unless told; pallet's default is sudo, and ansible_become: false turns it off.
      ...(become === false ? { noSudo: true } : {}),
      ...(becomeUser && becomeUser !== 'root' && become !== false ? { sudoUser: becomeUser } : {}),
    };
    entries.push({
      name: host,
      id: host,
      group: primary,
      groups: [...all].sort(),
      ip,
      ...(port !== undefined ? { sshPort: port } : {}),
      transport: transport ?? 'ssh',
      ...(Object.keys(adminUser).length ? { adminUser } : {}),
      vars,
    });
  }
  for (const [key, n] of notUsed) {
    const hosts =
      n.hosts.length > 3 ? `${n.hosts.slice(0, 3).join(', ')} and ${n.hosts.length - 3} more` : n.hosts.join(', ');
    warnings.push(`${abs}: ${key} (${hosts}): ${n.why}`);
  }
  return { entries, warnings };
}
