/**
 * Real Debian test nodes: sshd in podman containers from the image built by
 * scripts/test-nodes.sh, reached only on 127.0.0.1 ports. Every container is
 * labelled and removed by label (also at start, after an interrupted run).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { after, before } from 'node:test';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { waitForSsh } from '../../src/transport/ssh.js';
import { nodeListService } from '../../src/compute/node-list.js';
import { makeUser } from '../../src/core/user.js';

export const TEST_IMAGE = process.env.PALLET_TEST_IMAGE ?? 'localhost/pallet-debian:12';

export interface TestNode {
  container: string;
  name: string;
  port: number;
  /** The node's ed25519 host key, `type base64`. */
  hostKey: string;
  exec(cmd: string): { status: number; stdout: string; stderr: string };
  logs(): string;
  stop(): void;
}

function podman(args: string[], input?: string): string {
  return execFileSync('podman', args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] }).trim();
}

export function assertTestNodesReady(): void {
  const r = spawnSync('podman', ['image', 'exists', TEST_IMAGE]);
  if (r.error || r.status !== 0) {
    throw new Error(`The test image ${TEST_IMAGE} is missing: run 'bash scripts/test-nodes.sh' first (as root).`);
  }
}

export function removeNodes(label: string): void {
  const ids = podman(['ps', '-aq', '--filter', `label=pallet-test=${label}`]);
  if (ids) podman(['rm', '-f', '-t', '0', ...ids.split('\n')]);
}

export interface StartOptions {
  /** Public keys authorized for root. */
  authorizedKeys: string[];
  /** Shell run before sshd starts (as root, inside the node). */
  setup?: string;
}

export async function startNodes(label: string, count: number, opts: StartOptions): Promise<TestNode[]> {
  const keys = opts.authorizedKeys.join('\n');
  const start = [
    'mkdir -p /run/sshd /root/.ssh',
    'printf "%s\\n" "$PALLET_KEYS" > /root/.ssh/authorized_keys',
    'chmod 700 /root/.ssh; chmod 600 /root/.ssh/authorized_keys',
    'ssh-keygen -A >/dev/null',
    opts.setup ?? ':',
    'exec /usr/sbin/sshd -D -e',
  ].join(' && ');
  const nodes: TestNode[] = [];
  for (let i = 0; i < count; i++) {
    const name = `${label}-${i}`;
    const container = podman([
      'run',
      '-d',
      '--label',
      `pallet-test=${label}`,
      '--hostname',
      name,
      '-e',
      `PALLET_KEYS=${keys}`,
      '-p',
      '127.0.0.1::22',
      TEST_IMAGE,
      'sh',
      '-c',
      start,
    ]);
    const port = Number(podman(['port', container, '22/tcp']).split(':').pop());
    nodes.push({
      container,
      name,
      port,
      hostKey: '',
      exec(cmd: string) {
        const r = spawnSync('podman', ['exec', container, 'sh', '-c', cmd], { encoding: 'utf8' });
        return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
      },
      logs() {
        const r = spawnSync('podman', ['logs', container], { encoding: 'utf8' });
        return r.stdout + r.stderr;
      },
      stop() {
        podman(['rm', '-f', '-t', '0', container]);
      },
    });
  }
  for (const n of nodes) {
    await waitForSsh('127.0.0.1', n.port);
    const pub = n.exec('cat /etc/ssh/ssh_host_ed25519_key.pub').stdout.trim().split(/\s+/);
    n.hostKey = `${pub[0]} ${pub[1]}`;
  }
  return nodes;
}

/** A known_hosts file that knows exactly these nodes. */
export function knownHostsFor(nodes: TestNode[], dir: string): string {
  const path = join(dir, 'known_hosts');
  writeFileSync(path, nodes.map((n) => `[127.0.0.1]:${n.port} ${n.hostKey}\n`).join(''), { mode: 0o600 });
  return path;
}

/** A new key pair; returns the private key path and the public key text. */
export function makeKey(dir: string, name: string, passphrase = ''): { path: string; pub: string } {
  const path = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', name, '-f', path]);
  return { path, pub: execFileSync('cat', [`${path}.pub`], { encoding: 'utf8' }).trim() };
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Make `import 'pallet'` in `dir` resolve to this package, as in a user's project (node_modules/pallet). */
export function linkPallet(dir: string): void {
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  symlinkSync(resolve('.'), join(dir, 'node_modules', 'pallet'));
}

/** sshd logs each request it serves (for tests that count exec requests: `execRequests`). */
export const sshdDebugLog = "printf 'LogLevel DEBUG1\\n' >> /etc/ssh/sshd_config";

/** How many exec requests (commands run over SSH) the node's sshd has served so far. */
export function execRequests(node: TestNode): number {
  return node
    .logs()
    .split('\n')
    .filter((l) => /server_input_channel_req: channel \d+ request exec\b/.test(l)).length;
}

/**
 * One fresh Debian node for a suite: a key, the node (removed by label first),
 * a known_hosts file for it, a node-list service with it in group `box`, and
 * root as the admin user.
 */
export async function startOneNode(label: string, opts: Omit<StartOptions, 'authorizedKeys'> = {}) {
  assertTestNodesReady();
  removeNodes(label);
  const dir = tempDir(`pallet-${label}-`);
  const key = makeKey(dir, 'id');
  const nodes = await startNodes(label, 1, { ...opts, authorizedKeys: [key.pub] });
  const node = nodes[0]!;
  const known = knownHostsFor(nodes, dir);
  const compute = nodeListService(
    [{ name: node.name, id: node.name, group: 'box', ip: '127.0.0.1', sshPort: node.port }],
    { ssh: { knownHostsPath: known, agent: false } },
  );
  return { dir, key, node, known, compute, admin: makeUser('root', { privateKeyPath: key.path }) };
}

/**
 * A test file's one node: started before its tests (removed by label first), removed after them. `ready`
 * runs once the node is up (extra setup, such as an apt repository).
 */
export function nodeSuite(
  label: string,
  opts: Omit<StartOptions, 'authorizedKeys'> & { ready?: (env: Awaited<ReturnType<typeof startOneNode>>) => void } = {},
) {
  const suite = {
    env: undefined as unknown as Awaited<ReturnType<typeof startOneNode>>,
    get node(): TestNode {
      return suite.env.node;
    },
    /** The stdout of a command run on the node (as root, outside pallet). */
    sh: (cmd: string): string => suite.env.node.exec(cmd).stdout,
  };
  const { ready, ...start } = opts;
  before(async () => {
    suite.env = await startOneNode(label, start);
    ready?.(suite.env);
  });
  after(() => removeNodes(label));
  return suite;
}
