/**
 * SSH cost per stage on N bench nodes, all at once: OpenSSH (`ssh node true`, the floor's way) against ssh2
 * (what pallet uses): TCP connect, handshake done (ready), one exec of `true` finished.
 *   npx tsx bench/ssh-stages.ts 10
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, type ConnectConfig } from 'ssh2';
import { removeAll, setup, startNodes, median } from './lib.js';

const n = Number(process.argv[2] ?? 10);
const dir = mkdtempSync(join(tmpdir(), 'pallet-ssh-'));
setup(false);
const key = join(dir, 'key');
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
const nodes = await startNodes(n, readFileSync(`${key}.pub`, 'utf8'));
const known = join(dir, 'known_hosts');
writeFileSync(known, nodes.map((x) => `[127.0.0.1]:${x.port} ${x.hostKey}\n`).join(''));

function openssh(port: number): Promise<number> {
  const t0 = performance.now();
  return new Promise((res) => {
    const p = spawn('ssh', [
      '-q',
      '-p',
      String(port),
      '-i',
      key,
      '-o',
      `UserKnownHostsFile=${known}`,
      '-o',
      'BatchMode=yes',
      'root@127.0.0.1',
      'true',
    ]);
    p.on('close', () => res(performance.now() - t0));
  });
}

function ssh2(port: number, extra: Partial<ConnectConfig> = {}): Promise<{ ready: number; done: number }> {
  const t0 = performance.now();
  return new Promise((res, rej) => {
    const c = new Client();
    let ready = 0;
    c.on('ready', () => {
      ready = performance.now() - t0;
      c.exec('true', (err, ch) => {
        if (err) return rej(err);
        ch.on('close', () => {
          res({ ready, done: performance.now() - t0 });
          c.end();
        });
        ch.resume();
      });
    });
    c.on('error', rej);
    c.connect({
      host: '127.0.0.1',
      port,
      username: 'root',
      privateKey: readFileSync(key),
      hostVerifier: () => true,
      ...extra,
    });
  });
}

try {
  for (let rep = 0; rep < 3; rep++) {
    const t0 = performance.now();
    const o = await Promise.all(nodes.map((x) => openssh(x.port)));
    const tO = performance.now() - t0;
    const t1 = performance.now();
    const s = await Promise.all(nodes.map((x) => ssh2(x.port)));
    const tS = performance.now() - t1;
    console.log(
      `rep ${rep}: openssh all ${tO.toFixed(0)} ms (each median ${median(o).toFixed(0)}); ` +
        `ssh2 all ${tS.toFixed(0)} ms (ready median ${median(s.map((x) => x.ready)).toFixed(0)}, done median ${median(s.map((x) => x.done)).toFixed(0)})`,
    );
  }
} finally {
  removeAll();
}
