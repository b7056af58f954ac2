/**
 * Host-key checking against known_hosts files (src/transport/known-hosts.ts): plain names, `[host]:port`,
 * entries hashed by OpenSSH's own `ssh-keygen -H`, wildcards, negation, `@revoked`, `@cert-authority`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkHostKey, hostEntryName, keysFor, keyTypeOf } from '../../src/transport/known-hosts.js';
import { tempDir } from '../helpers/nodes.js';

// Two real ed25519 public keys (their blobs), made by ssh-keygen.
function keyPair(dir: string, name: string): { type: string; b64: string; blob: Buffer } {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, name)]);
  const [type, b64] = readFileSync(join(dir, `${name}.pub`), 'utf8')
    .trim()
    .split(/\s+/) as [string, string];
  return { type, b64, blob: Buffer.from(b64, 'base64') };
}

const dir = tempDir('pallet-known-hosts-');
const a = keyPair(dir, 'a');
const b = keyPair(dir, 'b');

test('plain names and [host]:port entries; a port other than 22 is its own entry', () => {
  assert.equal(hostEntryName('web1', 22), 'web1');
  assert.equal(hostEntryName('127.0.0.1', 2222), '[127.0.0.1]:2222');
  const text = `# comment\n\nweb1 ${a.type} ${a.b64}\n[127.0.0.1]:2222 ${b.type} ${b.b64}\n`;
  assert.deepEqual(keysFor(text, 'web1'), [{ type: a.type, key: a.b64 }]);
  assert.deepEqual(keysFor(text, 'web2'), []);
  assert.deepEqual(keysFor(text, '[127.0.0.1]:2222'), [{ type: b.type, key: b.b64 }]);
  assert.deepEqual(keysFor(text, '127.0.0.1'), [], 'port 22 is not [127.0.0.1]:2222');
  assert.equal(keyTypeOf(a.blob), 'ssh-ed25519');
});

test('entries hashed by ssh-keygen -H match the names they hash, and only those', () => {
  const file = join(dir, 'known_hosts');
  writeFileSync(file, `web1.example.org ${a.type} ${a.b64}\n[10.0.0.5]:2200 ${b.type} ${b.b64}\n`);
  execFileSync('ssh-keygen', ['-q', '-H', '-f', file], { stdio: 'ignore' });
  const hashed = readFileSync(file, 'utf8');
  assert.doesNotMatch(hashed, /web1|10\.0\.0\.5/, 'ssh-keygen replaced the names by hashes');
  assert.match(hashed, /^\|1\|/m);
  assert.deepEqual(keysFor(hashed, 'web1.example.org'), [{ type: a.type, key: a.b64 }]);
  assert.deepEqual(keysFor(hashed, '[10.0.0.5]:2200'), [{ type: b.type, key: b.b64 }]);
  assert.deepEqual(keysFor(hashed, 'web2.example.org'), []);
  assert.deepEqual(keysFor(hashed, '10.0.0.5'), []);
  // OpenSSH looks host names up in lower case.
  assert.deepEqual(keysFor(hashed, 'WEB1.Example.ORG'), [{ type: a.type, key: a.b64 }]);
  assert.deepEqual(keysFor(`web1.example.org ${a.type} ${a.b64}\n`, 'Web1.Example.Org'), [
    { type: a.type, key: a.b64 },
  ]);
});

test('wildcards and negation: * and ?, and a !pattern that excludes a host the others match', () => {
  const text = `*.example.org,!bad.example.org ${a.type} ${a.b64}\nnode?.lab ${b.type} ${b.b64}\n`;
  assert.equal(keysFor(text, 'app.example.org').length, 1);
  assert.equal(keysFor(text, 'deep.app.example.org').length, 1);
  assert.equal(keysFor(text, 'example.org').length, 0);
  assert.equal(keysFor(text, 'bad.example.org').length, 0, 'negated');
  assert.equal(keysFor(text, 'node1.lab').length, 1);
  assert.equal(keysFor(text, 'node10.lab').length, 0, '? is one character');
  assert.equal(keysFor(text, 'nodeXlab').length, 0, 'the dot is literal');
});

test('verdicts: match, unknown, mismatch (with the expected types), revoked wins; cert authorities are not host keys', () => {
  const text = `web1 ${a.type} ${a.b64}\n@cert-authority *.example.org ${b.type} ${b.b64}\n`;
  assert.deepEqual(checkHostKey(keysFor(text, 'web1'), a.blob), { result: 'match' });
  assert.deepEqual(checkHostKey(keysFor(text, 'web1'), b.blob), { result: 'mismatch', expected: [a.type] });
  assert.deepEqual(checkHostKey(keysFor(text, 'web2'), a.blob), { result: 'unknown' });
  assert.deepEqual(keysFor(text, 'x.example.org'), [], 'a CA key is not a key of the host');
  const revoked = `web1 ${a.type} ${a.b64}\n@revoked * ${a.type} ${a.b64}\n`;
  assert.deepEqual(checkHostKey(keysFor(revoked, 'web1'), a.blob), { result: 'revoked' });
  assert.deepEqual(checkHostKey(keysFor(`@revoked web1 ${a.type} ${a.b64}\n`, 'web1'), a.blob), { result: 'revoked' });
  assert.deepEqual(
    checkHostKey(keysFor(`@revoked web1 ${b.type} ${b.b64}\n`, 'web1'), a.blob),
    { result: 'unknown' },
    'a revoked other key is not a known key',
  );
});
