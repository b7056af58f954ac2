/** Node state on the node (src/compute/node-state.ts): the write and read scripts run by sh on real files. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  nodeStateFile,
  parseNodeState,
  readNodeStateScript,
  writeNodeStateScript,
} from '../../src/compute/node-state.js';
import { tempDir } from '../helpers/nodes.js';

const sh = (script: string) => spawnSync('sh', ['-c', script], { encoding: 'utf8' });

test('flags are set, kept and cleared one line each; the file is private; no state reads as none', () => {
  const root = join(tempDir('pallet-state-'), 'state root');
  assert.deepEqual(
    parseNodeState(sh(readNodeStateScript(root)).stdout),
    {},
    'no file yet: no flags, and the read succeeds',
  );
  assert.equal(sh(readNodeStateScript(root)).status, 0);
  assert.equal(sh(writeNodeStateScript({ bootstrapped: true, 'run-once.x': true }, root)).status, 0);
  assert.equal(sh(writeNodeStateScript({ bootstrapped: true }, root)).status, 0, 'setting a set flag again');
  assert.equal(readFileSync(nodeStateFile(root), 'utf8'), 'bootstrapped\nrun-once.x\n');
  assert.equal(statSync(nodeStateFile(root)).mode & 0o777, 0o600);
  assert.equal(statSync(root).mode & 0o777, 0o700);
  // Clearing one flag leaves the others (a '.' in a flag name is not a regex wildcard).
  assert.equal(sh(writeNodeStateScript({ 'run-onceXx': false, 'run-once.x': false }, root)).status, 0);
  assert.deepEqual(parseNodeState(sh(readNodeStateScript(root)).stdout), { bootstrapped: true });
  // Lines that are not flag names are ignored, not taken as flags.
  assert.deepEqual(parseNodeState('bootstrapped\nrm -rf /\n  spaced  \n\n'), { bootstrapped: true, spaced: true });
});

test('a state root that cannot be written fails with the reason on stderr', () => {
  const file = join(tempDir('pallet-state-'), 'a-file');
  sh(`echo x > '${file}'`);
  const r = sh(writeNodeStateScript({ bootstrapped: true }, `${file}/sub`));
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /Not a directory|cannot create/);
});
