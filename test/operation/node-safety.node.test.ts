/**
 * Nothing a run does may damage a node: files behind links, directories and
 * special files as targets, bytes of scripts, control data, idempotence at the
 * edges. Each case runs for real on a Debian node over SSH (dash is /bin/sh
 * there) and checks the node with an independent command.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  directories,
  execCheckedScript,
  execScript,
  explainPlan,
  explainSession,
  file,
  group,
  groupSpec,
  lift,
  makeUser,
  type nodeListService,
  remoteFile,
  remoteFileContent,
  rsync,
  sed,
  service,
  symbolicLink,
  targetFlag,
  targetFlagValue,
  user,
  withActionValues,
  type ActionResult,
  type OperationResult,
  type PhaseFn,
} from '../../src/index.js';
import { removeNodes, startOneNode, type TestNode } from '../helpers/nodes.js';

const LABEL = 'node-safety';
let dir: string;
let node: TestNode;
let compute: ReturnType<typeof nodeListService>;
let admin: ReturnType<typeof makeUser>;

before(async () => {
  ({ dir, node, compute, admin } = await startOneNode(LABEL));
});

after(() => removeNodes(LABEL));

const sh = (cmd: string) => {
  const r = node.exec(cmd);
  assert.equal(r.status, 0, `${cmd}: ${r.stderr}`);
  return r.stdout;
};

async function run(phase: PhaseFn): Promise<OperationResult> {
  return lift(groupSpec('box'), { compute, user: admin, phase });
}

const actionsOf = (r: OperationResult): ActionResult[] =>
  r.results.filter((x) => !x.phase.startsWith('pallet/')).flatMap((x) => x.actions);
const changed = (r: OperationResult) =>
  actionsOf(r)
    .filter((a) => a.changed)
    .map((a) => a.summary);

async function ok(phase: PhaseFn): Promise<OperationResult> {
  const r = await run(phase);
  assert.equal(r.ok, true, explainSession(r));
  return r;
}

/** The run fails, and the failed action's error names `what`. */
async function refused(phase: PhaseFn, what: RegExp): Promise<void> {
  const r = await run(phase);
  assert.equal(r.ok, false, 'the run must fail');
  const failed = actionsOf(r).find((a) => a.error);
  assert.ok(failed, explainSession(r));
  assert.match(failed.error!.message, what);
}

test('remoteFile and sed write through a symbolic link: the link stays, the file keeps its owner and mode', async () => {
  sh(
    'mkdir -p /srv/real && printf old > /srv/real/secret && chmod 600 /srv/real/secret && chown nobody:nogroup /srv/real/secret && ln -sfn /srv/real/secret /etc/secret-link',
  );
  sh('printf "a=1\\n" > /srv/real/conf && chmod 640 /srv/real/conf && ln -sfn ../srv/real/conf /etc/conf-link');
  const phase = () => {
    remoteFile('/etc/secret-link', { content: 'new secret\n' });
    sed('/etc/conf-link', { 'a=1': 'a=2' });
  };
  const r1 = await ok(phase);
  assert.deepEqual(changed(r1), ['remoteFile /etc/secret-link', 'sed /etc/conf-link']);
  assert.equal(sh('readlink /etc/secret-link'), '/srv/real/secret\n', 'the link is still a link to the same file');
  assert.equal(sh('cat /srv/real/secret'), 'new secret\n');
  assert.equal(sh('stat -c "%a %U %G %F" /srv/real/secret'), '600 nobody nogroup regular file\n');
  assert.equal(sh('readlink /etc/conf-link'), '../srv/real/conf\n');
  assert.equal(sh('cat /srv/real/conf'), 'a=2\n');
  assert.equal(sh('stat -c %a /srv/real/conf'), '640\n');
  assert.equal(sh('ls -A /etc | grep -c pallet-new || true'), '0\n', 'no staging file left beside the link');
  const r2 = await ok(phase);
  assert.deepEqual(changed(r2), [], 'second run: nothing changes');
});

test('follow: false replaces the link itself with a regular file, never a 0777 one', async () => {
  sh('printf keep > /srv/real/target && chmod 600 /srv/real/target && ln -sfn /srv/real/target /etc/replace-link');
  const phase = () => void remoteFile('/etc/replace-link', { content: 'mine\n', follow: false });
  await ok(phase);
  assert.equal(sh('stat -c "%F %a" /etc/replace-link'), 'regular file 600\n');
  assert.equal(sh('cat /etc/replace-link'), 'mine\n');
  assert.equal(sh('cat /srv/real/target'), 'keep', 'the file the link pointed to is untouched');
  assert.deepEqual(changed(await ok(phase)), []);
  // A link to a directory, replaced on purpose: the file is not moved into the directory.
  sh('mkdir -p /srv/real/d && ln -sfn /srv/real/d /etc/dir-link');
  await ok(() => void remoteFile('/etc/dir-link', { content: 'x\n', follow: false }));
  assert.equal(sh('stat -c %F /etc/dir-link; ls -A /srv/real/d | wc -l'), 'regular file\n0\n');
});

test('a directory as the target of remoteFile, sed or file is refused, and left as it was', async () => {
  sh('mkdir -p /srv/adir && touch /srv/adir/inside');
  await refused(() => void remoteFile('/srv/adir', { content: 'x' }), /remoteFile \/srv\/adir: is a directory/);
  await refused(() => void sed('/srv/adir', { a: 'b' }), /sed \/srv\/adir: is a directory/);
  await refused(() => void file('/srv/adir', { mode: '0600' }), /file \/srv\/adir: is a directory/);
  await refused(() => void remoteFile('/srv/adir', { action: 'delete' }), /is a directory/);
  assert.equal(sh('stat -c "%F %a" /srv/adir; ls -A /srv/adir'), 'directory 755\ninside\n');
});

test('fifos, sockets and devices are refused, never replaced', async () => {
  sh('mkfifo /srv/afifo');
  await refused(
    () => void remoteFile('/srv/afifo', { content: 'x' }),
    /remoteFile \/srv\/afifo: is not a regular file/,
  );
  await refused(() => void file('/srv/afifo', { mode: '0600' }), /is not a regular file/);
  await refused(() => void remoteFile('/dev/null', { content: 'x' }), /remoteFile \/dev\/null: is not a regular file/);
  await refused(
    () => void symbolicLink('/etc/hostname', '/srv/afifo', { force: true }),
    /symbolicLink \/srv\/afifo: is a fifo/,
  );
  assert.equal(sh('stat -c %F /srv/afifo /dev/null'), 'fifo\ncharacter special file\n');
});

test('symbolicLink never puts a link inside a real directory, even with force', async () => {
  sh('mkdir -p /srv/linkdir');
  await refused(
    () => void symbolicLink('/etc/hostname', '/srv/linkdir', { force: true }),
    /symbolicLink \/srv\/linkdir: is a directory/,
  );
  assert.equal(sh('ls -A /srv/linkdir | wc -l'), '0\n');
  // force still replaces a regular file, once.
  sh('printf x > /srv/plainfile');
  const phase = () => void symbolicLink('/etc/hostname', '/srv/plainfile', { force: true });
  assert.deepEqual(changed(await ok(phase)), ['symbolicLink /srv/plainfile -> /etc/hostname']);
  assert.equal(sh('readlink /srv/plainfile'), '/etc/hostname\n');
  assert.deepEqual(changed(await ok(phase)), []);
});

test('bytes after a heredoc-delimiter prefix survive dash: names, content, script lines', async () => {
  const weird = 'a\nPé';
  const phase = () => {
    directories([`/srv/bytes/${weird}`, '/srv/bytes/PALLET_EOF_é', '/srv/bytes/PALLET_B64é']);
    remoteFile('/srv/bytes/expanded', { content: 'Pélican\nPALLET_EOF_ü\nhome=$HOME\n', literal: false });
    remoteFile('/srv/bytes/literal', { content: 'Pélican\nPALLET_B64\nPAé $HOME `id`\n' });
    execScript(
      `printf '%s\\n' 'Pé first' > /srv/bytes/script-out\nPé=1 true 2>/dev/null; echo Pé >> /srv/bytes/script-out`,
      { changes: 'never' },
    );
  };
  await ok(phase);
  assert.equal(sh("ls -A /srv/bytes | od -An -c | tr -s ' '").includes('P 303 251'), true, 'é kept in names');
  assert.equal(sh(`[ -d /srv/bytes/'${weird}' ] && echo yes`), 'yes\n');
  assert.equal(sh('[ -d /srv/bytes/PALLET_EOF_é ] && [ -d /srv/bytes/PALLET_B64é ] && echo yes'), 'yes\n');
  assert.equal(sh('cat /srv/bytes/expanded'), 'Pélican\nPALLET_EOF_ü\nhome=/root\n');
  assert.equal(sh('cat /srv/bytes/literal'), 'Pélican\nPALLET_B64\nPAé $HOME `id`\n');
  assert.equal(sh('cat /srv/bytes/script-out'), 'Pé first\nPé\n');
  const r2 = await ok(phase);
  assert.deepEqual(
    changed(r2).filter((s) => !s.startsWith('execScript')),
    [],
  );
});

test('node output cannot set a flag, a value or a change report; values keep newlines', async () => {
  const forged = 'SETFLAG: forged :SETFLAG\nSETVALUE: forged yes :SETVALUE\nPALLET-CHANGED:0000000000000000\n';
  sh(`printf '%s' '${forged}' > /srv/forged.txt`);
  let seen: string | undefined;
  let later: { flag: boolean; multi: string | undefined } | undefined;
  const g = groupSpec('box', {
    phases: {
      configure: () => {
        const content = remoteFileContent('/srv/forged.txt');
        withActionValues([content], (text) => void (seen = text));
        execScript(`cat /srv/forged.txt; printf 'C\\000F\\000forged\\000'`, { changes: 'never' });
        execScript(`pallet_set_value multi "$(printf 'line one\\nline two')"`, { changes: 'never' });
      },
      check: () => void (later = { flag: targetFlag('forged')(), multi: targetFlagValue('multi') }),
    },
  });
  const r = await lift(g, { compute, user: admin, phase: ['configure', 'check'] });
  assert.equal(r.ok, true, explainSession(r));
  assert.equal(seen, forged, 'the value the plan sees is the file, byte for byte');
  const acts = actionsOf(r);
  assert.ok(
    acts.every((a) => a.flags.length === 0),
    'no flag set from output',
  );
  assert.ok(acts.every((a) => !('forged' in a.flagValues)));
  assert.equal(acts.find((a) => a.summary.startsWith('execScript cat'))!.changed, false);
  assert.equal(
    acts.find((a) => a.summary.startsWith('execScript pallet_set_value'))!.flagValues.multi,
    'line one\nline two',
  );
  assert.deepEqual(later, { flag: false, multi: 'line one\nline two' });
});

test('execCheckedScript bodies get the helpers and the environment of every script', async () => {
  const big = join(dir, 'big.bin');
  mkdirSync(dir, { recursive: true });
  writeFileSync(big, Buffer.alloc(40 * 1024, 7));
  const r = await ok(() => {
    remoteFile('/srv/big.bin', { localFile: big, noVersioning: true });
    execCheckedScript(
      'reports',
      'test -n "$PALLET_UPLOADS"\nsh -c \'test -n "$PALLET_UPLOADS"\'\npallet_changed\npallet_set_flag checked',
      { changes: 'reported' },
    );
  });
  const a = actionsOf(r).find((x) => x.action === 'execCheckedScript')!;
  assert.equal(a.changed, true);
  assert.deepEqual(a.flags, ['checked']);
  assert.match(a.out, /#> reports : SUCCESS/);
  const failing = await run(() => void execCheckedScript('stops', 'false\necho not-reached > /srv/not-reached'));
  assert.equal(failing.ok, false);
  assert.equal(node.exec('test -e /srv/not-reached').status, 1, 'set -e stopped the body');
});

test('user: groups compared as sets (primary group listed, C-locale order), one bad user does not stop the others', async () => {
  sh('groupadd -f dialout-y && groupadd -f dialout_x && groupadd -f web');
  const phase = () => {
    group('deploy');
    user('deploy', { group: 'deploy', groups: ['deploy', 'web', 'dialout_x', 'dialout-y'], createHome: false });
  };
  const r1 = await ok(phase);
  assert.deepEqual(changed(r1), ['group deploy', 'user deploy']);
  assert.equal(sh("id -Gn deploy | tr ' ' '\\n' | sort | paste -sd, -"), 'deploy,dialout-y,dialout_x,web\n');
  assert.deepEqual(changed(await ok(phase)), [], 'second run: nothing changes');
  // Validated at plan time: a control character in a comment.
  const bad = await run(() => void user('tabby', { comment: 'a\tb' }));
  assert.equal(bad.ok, false);
  assert.equal(bad.results.find((x) => !x.ok)!.reason, 'plan-error');
  assert.match(actionsOf(bad)[0]!.error!.message, /control characters/);
  assert.equal(node.exec('getent passwd tabby').status, 2);
  // At run time: a user whose group is missing fails; the others of the same action are still made.
  const r = await run(() => {
    user('alpha1', { createHome: false });
    user('broken1', { groups: ['no-such-group'], createHome: false });
    user('omega1', { createHome: false });
  });
  assert.equal(r.ok, false);
  assert.match(actionsOf(r).find((a) => a.error)!.error!.message, /user: failed for: broken1/);
  assert.equal(sh('getent passwd alpha1 omega1 | cut -d: -f1'), 'alpha1\nomega1\n');
  assert.equal(node.exec('getent passwd broken1').status, 2);
});

test('OpenRC: enabling nginx is not fooled by nginx-debug', async () => {
  // A stand-in rc-update that lists nginx-debug only; it records what it is asked to do.
  sh(`cat > /usr/local/bin/rc-update <<'EOF'
#!/bin/sh
if [ "$1" = show ]; then echo '      nginx-debug | default'; [ -f /srv/rc-added ] && echo '            nginx | default'; exit 0; fi
echo "$*" >> /srv/rc-calls; [ "$1" = add ] && touch /srv/rc-added; exit 0
EOF
chmod +x /usr/local/bin/rc-update`);
  const phase = () => void service('nginx', { action: 'enable', serviceImpl: 'openrc' });
  assert.deepEqual(changed(await ok(phase)), ['service nginx enable']);
  assert.deepEqual(changed(await ok(phase)), []);
  assert.equal(sh('cat /srv/rc-calls'), 'add nginx default\n');
  sh('rm -f /usr/local/bin/rc-update');
});

test('rsync: the remote path reaches rsync as it is; credentials it cannot use are refused before anything runs', async () => {
  sh('command -v rsync >/dev/null || { apt-get -qq update && apt-get install -y -qq rsync; } >/dev/null 2>&1');
  const src = join(dir, 'rs');
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, 'f'), 'data\n');
  const target = "/srv/r s/$(touch /srv/pwned)'q";
  sh(`mkdir -p "/srv/r s/\\$(touch /srv/pwned)'q"`);
  await ok(() => void rsync(`${src}/`, `${target}/`));
  assert.equal(sh(`cat "/srv/r s/\\$(touch /srv/pwned)'q/f"`), 'data\n');
  assert.equal(node.exec('test -e /srv/pwned').status, 1, 'nothing ran in the node shell');
});

test('rsync refuses a key given as text or a password', async () => {
  // The key as text: the SSH connection works, rsync (the system ssh) could not use it.
  const keyText = makeUser('root', { privateKey: readFileSync(join(dir, 'id'), 'utf8') });
  const e = await lift(groupSpec('box'), { compute, user: keyText, phase: () => void rsync('/tmp/', '/srv/x/') });
  assert.equal(e.ok, false);
  assert.equal(e.results.find((x) => !x.ok)!.reason, 'plan-error');
  assert.match(actionsOf(e)[0]!.error!.message, /rsync .*key as text.*privateKeyPath/);
  assert.equal(node.exec('test -e /srv/x').status, 1, 'nothing ran');
  const pw = makeUser('deployer', { password: 'hunter2-secret' });
  const e2 = await explainPlan(() => void rsync('/tmp/', '/srv/x/'), { user: pw }).catch((x: Error) => x);
  assert.ok(e2 instanceof Error && /a password/.test(e2.message), String(e2));
  assert.ok(!String(e2).includes('hunter2'));
});
