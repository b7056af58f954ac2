/**
 * The command that runs a script with the admin user's privileges (shellCommand, src/transport/ssh.ts), run for
 * real by sh with a stand-in `sudo` on PATH (it checks a password read with -S, or refuses -n when one is
 * needed, then runs the command): the password travels only on stdin, is given to sudo only when sudo asks,
 * and can never run as a command.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { shellCommand } from '../../src/transport/ssh.js';
import { makeUser } from '../../src/core/user.js';
import { tempDir } from '../helpers/nodes.js';

const dir = tempDir('pallet-sudo-');
// A stand-in sudo: `-n` fails when NEEDS_PASSWORD is set; `-S` reads one line from stdin and checks it against
// EXPECTED; `-u USER` is recorded; then it runs the rest of its arguments.
writeFileSync(
  join(dir, 'sudo'),
  `#!/bin/sh
nopass=; stdinpw=; while [ $# -gt 0 ]; do case "$1" in
  -n) nopass=1 ;; -S) stdinpw=1 ;; -p) shift ;; -u) shift; echo "as:$1" >&2 ;; *) break ;; esac; shift; done
if [ -n "$nopass" ] && [ -n "$NEEDS_PASSWORD" ]; then echo 'sudo: a password is required' >&2; exit 1; fi
if [ -n "$stdinpw" ]; then IFS= read -r pw; [ "$pw" = "$EXPECTED" ] || { echo 'sudo: wrong password' >&2; exit 1; }; echo 'sudo:checked' >&2; fi
exec "$@"
`,
);
chmodSync(join(dir, 'sudo'), 0o755);

function run(user: Parameters<typeof shellCommand>[0], script: string, env: Record<string, string> = {}) {
  const { command, stdinPrefix } = shellCommand(user);
  const r = spawnSync('sh', ['-c', command], {
    input: stdinPrefix + script,
    encoding: 'utf8',
    env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, ...env },
  });
  return { command, out: r.stdout, err: r.stderr, code: r.status };
}

test('root and noSudo run the script directly; sudoUser and other users go through sudo -n', () => {
  assert.equal(shellCommand(makeUser('root')).command, 'sh -s');
  assert.equal(shellCommand(makeUser('deploy', { noSudo: true })).command, 'sh -s');
  assert.equal(shellCommand(makeUser('deploy')).command, 'sudo -n sh -s');
  const r = run(makeUser('root', { sudoUser: 'postgres' }), 'echo ran\n');
  assert.equal(r.command, "sudo -n -u 'postgres' sh -s");
  assert.equal(r.out, 'ran\n');
  assert.match(r.err, /as:postgres/);
});

test('a sudo password: on stdin only, given to sudo when it asks, never run as a command', () => {
  const marker = join(dir, 'pwned');
  const password = `x'; touch ${marker}; echo "$HOME" \`id\` ;`;
  const user = makeUser('deploy', { sudoPassword: password });
  // sudo asks for a password: it gets exactly the password, and the script runs.
  const asked = run(user, 'echo ran as script\n', { NEEDS_PASSWORD: '1', EXPECTED: password });
  assert.equal(asked.code, 0, asked.err);
  assert.equal(asked.out, 'ran as script\n');
  assert.match(asked.err, /sudo:checked/);
  assert.ok(
    !asked.command.includes(password) && !asked.command.includes('pwned'),
    'the password is not on the command line',
  );
  // sudo does not ask (passwordless): the password line is dropped, not run, and the script runs.
  const notAsked = run(user, 'echo ran as script\n', { EXPECTED: 'unused' });
  assert.equal(notAsked.code, 0, notAsked.err);
  assert.equal(notAsked.out, 'ran as script\n');
  assert.doesNotMatch(notAsked.err, /sudo:checked/);
  // A wrong password fails, and the script does not run.
  const wrong = run(user, 'echo ran as script\n', { NEEDS_PASSWORD: '1', EXPECTED: 'something else' });
  assert.notEqual(wrong.code, 0);
  assert.equal(wrong.out, '');
  assert.ok(!existsSync(marker), 'the password never ran as a command');
});
