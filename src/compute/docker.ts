/**
 * The Docker compute service (dockerode, the Docker Engine API; podman's
 * Docker-compatible service works too).
 *
 * Nodes are containers running sshd, labelled with the service, the group and
 * `pallet.managed`, and found again by those labels: listing and destruction
 * are always scoped to this service's own containers. SSH is published on a
 * loopback (or configured) host address. The node's host key is read from the
 * container through the engine API, so host-key checking stays on without
 * anybody editing known_hosts. Node state (bootstrapped) lives on the node
 * itself (compute/node-state.ts), because container labels cannot
 * change after creation.
 *
 * Why this file is long: one compute service: create, list, destroy, host keys and node state over the engine API; each part is
 * small and they share the label scheme.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { ComputeError } from '../core/errors.js';
import { importModule } from '../core/import-module.js';
import { shQuote } from '../script/quote.js';
import { waitForSsh } from '../transport/ssh.js';
import type { GroupSpec } from '../model/specs.js';
import type { Node } from '../core/types.js';
import type { User } from '../core/user.js';
import { sshConnector, type ConnectOverrides, type SshConnectorOptions } from './connect.js';
import { parseNodeState, readNodeStateScript, writeNodeStateScript } from './node-state.js';
import type { ComputeService, NodeState, RunNodesOptions } from './types.js';

export interface DockerServiceOptions {
  /** Name of the service (scopes the containers it manages; default `docker`). */
  name?: string;
  /**
   * The project that owns the containers (a label): two projects on one engine
   * never see or remove each other's nodes, even with the same service and
   * group names. Default: `PALLET_PROJECT` (the CLI sets it from the project
   * file), else `default`.
   */
  project?: string;
  /** Engine socket (default: `DOCKER_HOST`, else /var/run/docker.sock, else podman's /run/podman/podman.sock). */
  socketPath?: string;
  /** TCP engine instead of a socket. */
  host?: string;
  port?: number;
  protocol?: 'http' | 'https';
  ca?: string;
  cert?: string;
  key?: string;
  /** Host address SSH is published on (default 127.0.0.1). */
  hostAddress?: string;
  /** Default container command when the image spec has no `init`. */
  init?: string | string[];
  /** Seconds to wait for a new node's sshd (default 30). */
  sshWaitSeconds?: number;
  /** SSH options for reaching the nodes (host keys are learned from the nodes themselves). */
  ssh?: SshConnectorOptions;
  environment?: Record<string, unknown>;
}

const L = {
  managed: 'pallet.managed',
  service: 'pallet.service',
  project: 'pallet.project',
  group: 'pallet.group',
  osFamily: 'pallet.os-family',
  osVersion: 'pallet.os-version',
  loginUser: 'pallet.login-user',
};

function defaultSocket(): { socketPath?: string; host?: string; port?: number; protocol?: 'http' | 'https' } {
  const dh = process.env.DOCKER_HOST;
  if (dh?.startsWith('unix://')) return { socketPath: dh.slice('unix://'.length) };
  if (dh?.startsWith('tcp://')) {
    const u = new URL(dh.replace(/^tcp:/, 'http:'));
    return { host: u.hostname, port: Number(u.port || 2375), protocol: 'http' };
  }
  for (const p of ['/var/run/docker.sock', '/run/podman/podman.sock']) {
    try {
      readFileSync(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return { socketPath: p };
    }
  }
  return { socketPath: '/var/run/docker.sock' };
}

/** The default container command: authorize the key for the login user, give the node its own host keys, run sshd. */
function initCommand(loginUser: string): string[] {
  const home = loginUser === 'root' ? '/root' : `/home/${loginUser}`;
  const h = shQuote(home);
  const u = shQuote(loginUser);
  return [
    'sh',
    '-c',
    [
      'set -e',
      'mkdir -p /run/sshd',
      `mkdir -p ${h}/.ssh`,
      `printf '%s\\n' "$PALLET_AUTHORIZED_KEYS" > ${h}/.ssh/authorized_keys`,
      `chmod 700 ${h}/.ssh && chmod 600 ${h}/.ssh/authorized_keys && chown -R ${u} ${h}/.ssh`,
      '[ -e /etc/ssh/ssh_host_ed25519_key ] || { rm -f /etc/ssh/ssh_host_*; ssh-keygen -A >/dev/null; }',
      'exec /usr/sbin/sshd -D -e',
    ].join('; '),
  ];
}

/** Container names: the engine's rule, for `pallet-<group>-<hex>`. */
const containerName = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function dockerService(opts: DockerServiceOptions = {}): ComputeService {
  const name = opts.name ?? 'docker';
  const project = opts.project ?? process.env.PALLET_PROJECT ?? 'default';
  if (!/^[A-Za-z0-9_.-]+$/.test(project))
    throw new ComputeError(`${name}: the project name ${JSON.stringify(project)} must be letters, digits, _ . -`, name);
  const conn = opts.host
    ? {
        host: opts.host,
        port: opts.port ?? 2375,
        protocol: opts.protocol ?? 'http',
        ...(opts.ca ? { ca: opts.ca } : {}),
        ...(opts.cert ? { cert: opts.cert } : {}),
        ...(opts.key ? { key: opts.key } : {}),
      }
    : opts.socketPath
      ? { socketPath: opts.socketPath }
      : defaultSocket();
  // dockerode is loaded on first use: programs that never touch Docker do not pay for it.
  let dockerP: Promise<Docker> | undefined;
  const client = () =>
    (dockerP ??= importModule<{ default: typeof Docker }>('dockerode').then(
      (m) => new m.default(conn as Docker.DockerOptions),
    ));
  const where =
    'socketPath' in conn && conn.socketPath
      ? `unix://${conn.socketPath}`
      : `${(conn as { host?: string }).host}:${(conn as { port?: number }).port}`;
  const hostAddress = opts.hostAddress ?? '127.0.0.1';
  const ssh = sshConnector(opts.ssh ?? {});

  const engine = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (e) {
      const err = e as NodeJS.ErrnoException & { statusCode?: number; json?: { message?: string } };
      if (err.code === 'ECONNREFUSED' || err.code === 'ENOENT' || err.code === 'EACCES') {
        throw new ComputeError(
          `${name}: cannot reach the Docker engine at ${where} (${err.code}). Is Docker (or 'podman system service') running?`,
          name,
          { cause: e },
        );
      }
      throw new ComputeError(`${name}: ${what}: ${err.json?.message ?? err.message}`, name, { cause: e });
    }
  };

  /** Run a command in a container through the engine API. */
  const execIn = async (id: string, cmd: string[]): Promise<{ code: number; out: string; err: string }> => {
    const docker = await client();
    const c = docker.getContainer(id);
    const ex = await c.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
    const stream = await ex.start({ hijack: true, stdin: false });
    const out = new PassThrough();
    const err = new PassThrough();
    const o: Buffer[] = [];
    const e: Buffer[] = [];
    out.on('data', (b: Buffer) => o.push(b));
    err.on('data', (b: Buffer) => e.push(b));
    docker.modem.demuxStream(stream, out, err);
    await new Promise<void>((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', reject);
    });
    const info = await ex.inspect();
    // No exit code means the engine did not say how it ended: not a success.
    return {
      code: info.ExitCode ?? 255,
      out: Buffer.concat(o).toString('utf8'),
      err: Buffer.concat(e).toString('utf8'),
    };
  };

  const hostKeysOf = async (id: string): Promise<string[]> => {
    const r = await execIn(id, ['sh', '-c', 'cat /etc/ssh/ssh_host_*_key.pub 2>/dev/null']);
    return r.out
      .split('\n')
      .map((l) => l.trim().split(/\s+/).slice(0, 2).join(' '))
      .filter((l) => l.includes(' '));
  };

  const toNode = async (info: Docker.ContainerInfo): Promise<Node> => {
    const labels = info.Labels ?? {};
    const port = info.Ports?.find((p) => p.PrivatePort === 22 && p.PublicPort)?.PublicPort ?? 0;
    const running = info.State === 'running';
    const id = (info.Names?.[0] ?? info.Id).replace(/^\//, '');
    return {
      id,
      hostname: id,
      groupName: labels[L.group] ?? '',
      primaryIp: hostAddress,
      sshPort: port,
      running,
      service: name,
      transport: 'ssh',
      ...(labels[L.osFamily] ? { osFamily: labels[L.osFamily] } : {}),
      ...(labels[L.osVersion] ? { osVersion: labels[L.osVersion] } : {}),
      imageUser: { username: labels[L.loginUser] ?? 'root' },
      ...(running ? { hostKeys: await hostKeysOf(info.Id) } : {}),
    };
  };

  const list = (groups?: ReadonlyArray<string>) =>
    engine('listing containers', async () =>
      (await client()).listContainers({
        all: true,
        filters: { label: [`${L.managed}=true`, `${L.service}=${name}`, `${L.project}=${project}`] },
      }),
    ).then((cs) => cs.filter((c) => !groups || groups.includes(c.Labels?.[L.group] ?? '')));

  const publicKeyOf = (user: User): string => {
    if (user.publicKey) return user.publicKey.trim();
    if (!user.publicKeyPath)
      throw new ComputeError(
        `${name}: the admin user ${user.username} has no publicKeyPath to authorize on new nodes`,
        name,
      );
    try {
      return readFileSync(user.publicKeyPath, 'utf8').trim();
    } catch (e) {
      throw new ComputeError(
        `${name}: cannot read the admin user's public key ${user.publicKeyPath}: ${(e as Error).message}`,
        name,
      );
    }
  };

  const createOne = async (group: GroupSpec, pubkey: string): Promise<Node> => {
    const image = group.image?.imageId;
    const loginUser = group.image?.loginUser ?? 'root';
    const cname = `pallet-${group.groupName}-${randomBytes(3).toString('hex')}`;
    const init = group.image?.init ?? opts.init;
    const cmd = init === undefined ? initCommand(loginUser) : typeof init === 'string' ? ['sh', '-c', init] : init;
    const memoryMb = typeof group.hardware?.minRam === 'number' ? group.hardware.minRam : undefined;
    const cores = typeof group.hardware?.minCores === 'number' ? group.hardware.minCores : undefined;
    const hostPort =
      typeof (group.provider?.docker as { sshPort?: number } | undefined)?.sshPort === 'number'
        ? String((group.provider!.docker as { sshPort: number }).sshPort)
        : '';
    const container = await engine(`creating a container for group '${group.groupName}' from ${image}`, async () =>
      (await client()).createContainer({
        name: cname,
        Image: image!,
        Hostname: cname,
        Cmd: cmd,
        Env: [`PALLET_AUTHORIZED_KEYS=${pubkey}`],
        Labels: {
          [L.managed]: 'true',
          [L.service]: name,
          [L.project]: project,
          [L.group]: group.groupName,
          [L.loginUser]: loginUser,
          ...(group.image?.osFamily ? { [L.osFamily]: group.image.osFamily } : {}),
          ...(group.image?.osVersion ? { [L.osVersion]: group.image.osVersion } : {}),
        },
        ExposedPorts: { '22/tcp': {} },
        HostConfig: {
          PortBindings: { '22/tcp': [{ HostIp: hostAddress, HostPort: hostPort }] },
          ...(memoryMb ? { Memory: memoryMb * 1024 * 1024 } : {}),
          ...(cores ? { NanoCpus: Math.round(cores * 1e9) } : {}),
        },
      }),
    );
    try {
      await engine(`starting ${cname}`, () => container.start());
      const info = await engine(`inspecting ${cname}`, () => container.inspect());
      const port = Number(info.NetworkSettings.Ports?.['22/tcp']?.[0]?.HostPort ?? 0);
      if (!port) throw new ComputeError(`${name}: ${cname} has no published SSH port`, name);
      await waitForSsh(hostAddress, port, (opts.sshWaitSeconds ?? 30) * 1000).catch((e: Error) => {
        throw new ComputeError(
          `${name}: node ${cname} never answered SSH: ${e.message}. Does the image run sshd (openssh-server)?`,
          name,
        );
      });
      const listed = await list([group.groupName]);
      const mine = listed.find((c) => c.Id === info.Id);
      if (!mine) throw new ComputeError(`${name}: ${cname} vanished after creation`, name);
      return await toNode(mine);
    } catch (e) {
      // Never leave a half-created node behind.
      await container.remove({ force: true }).catch(() => {});
      throw e;
    }
  };

  return {
    name,
    provider: 'docker',
    ...(opts.environment ? { environment: opts.environment } : {}),
    async nodes(query) {
      const cs = await list(query?.groups);
      return Promise.all(cs.map(toNode));
    },
    async runNodes(group: GroupSpec, count: number, ro: RunNodesOptions) {
      if (count <= 0) return [];
      const image = group.image?.imageId;
      if (!image) {
        throw new ComputeError(
          `${name}: group '${group.groupName}' has no image.imageId: give it nodeSpec({ image: { imageId: '...' } })`,
          name,
        );
      }
      await engine(`image ${image}`, async () => (await client()).getImage(image).inspect()).catch(
        (e: ComputeError) => {
          if (/no such image|not found|image not known/i.test(e.message)) {
            throw new ComputeError(
              `${name}: the image ${image} of group '${group.groupName}' does not exist in the engine. Build or pull it first (see scripts/test-nodes.sh for a Debian image).`,
              name,
            );
          }
          throw e;
        },
      );
      const pubkey = publicKeyOf(ro.user);
      const settled = await Promise.allSettled(Array.from({ length: count }, () => createOne(group, pubkey)));
      const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed) {
        // All or nothing: remove the nodes of this call that did start.
        await Promise.all(
          settled.map((s) =>
            s.status === 'fulfilled'
              ? client()
                  .then((d) => d.getContainer(s.value.id).remove({ force: true }))
                  .catch(() => {})
              : undefined,
          ),
        );
        throw failed.reason;
      }
      return settled.map((s) => (s as PromiseFulfilledResult<Node>).value);
    },
    checkGroup(group: GroupSpec) {
      if (!containerName.test(`pallet-${group.groupName}`)) {
        throw new ComputeError(
          `${name}: the group name '${group.groupName}' cannot be part of a container name (letters, digits, _ . - only)`,
          name,
        );
      }
    },
    async destroyNode(node: Node) {
      // Only a container this service and project made: the labels are checked before anything is removed.
      const c = (await client()).getContainer(node.id);
      const info = await engine(`inspecting ${node.id}`, () => c.inspect());
      const labels = info.Config?.Labels ?? {};
      if (labels[L.managed] !== 'true' || labels[L.service] !== name || labels[L.project] !== project) {
        throw new ComputeError(
          `${name}: refusing to remove ${node.id}: it is not a node of service '${name}' and project '${project}' ` +
            `(its labels say service '${labels[L.service] ?? '-'}', project '${labels[L.project] ?? '-'}')`,
          name,
        );
      }
      await engine(`removing ${node.id}`, () => c.remove({ force: true }));
    },
    async destroyNodesInGroup(groupName: string) {
      const cs = await list([groupName]);
      await Promise.all(
        cs.map((c) =>
          engine(`removing ${c.Id}`, async () => (await client()).getContainer(c.Id).remove({ force: true })),
        ),
      );
    },
    async nodeState(node: Node): Promise<NodeState> {
      const r = await engine(`reading the state of ${node.id}`, () =>
        execIn(node.id, ['sh', '-c', readNodeStateScript()]),
      );
      return parseNodeState(r.out);
    },
    async setNodeState(node: Node, patch: NodeState) {
      const r = await engine(`writing the state of ${node.id}`, () =>
        execIn(node.id, ['sh', '-c', writeNodeStateScript(patch)]),
      );
      if (r.code !== 0) {
        throw new ComputeError(
          `${name}: cannot record the state ${Object.keys(patch).join(', ')} on node ${node.id} (exit ${r.code}): ${r.err.trim() || 'no message'}`,
          name,
        );
      }
    },
    async startNode(node: Node) {
      const c = (await client()).getContainer(node.id);
      await engine(`starting ${node.id}`, () => c.start());
      // The published SSH port may be a new one after a restart.
      const mine = (await list([node.groupName])).find((x) => (x.Names?.[0] ?? x.Id).replace(/^\//, '') === node.id);
      if (!mine) throw new ComputeError(`${name}: ${node.id} vanished while starting`, name);
      const started = await toNode(mine);
      await waitForSsh(hostAddress, started.sshPort, (opts.sshWaitSeconds ?? 30) * 1000).catch((e: Error) => {
        throw new ComputeError(`${name}: node ${node.id} was started but never answered SSH: ${e.message}`, name);
      });
      return started.hostKeys?.length ? started : await toNode(mine);
    },
    connect(node: Node, user: User, overrides?: ConnectOverrides) {
      return ssh(node, user, overrides);
    },
    async close() {},
  };
}
