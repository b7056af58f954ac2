/**
 * The exact script of each action, per family, for every OS family (as pyinfra's operation fixtures do):
 * a table of calls per family; their scripts, in a real run and in check mode, are compared byte for byte
 * with `test/actions/scripts/<family>.txt`. OS families that get the same script share one section.
 *
 * A change to any action's script fails here until the golden file is rewritten on purpose and the diff
 * read in review:
 *
 *     PALLET_UPDATE_SCRIPTS=1 node --import tsx --test test/actions/scripts.test.ts
 *
 * That the scripts do what they say is proved on real nodes (`*.node.test.ts`); this pins what they are.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  addRpm,
  blockInFile,
  debconfSetSelections,
  directories,
  directory,
  exec,
  execCheckedScript,
  execScript,
  fifo,
  file,
  group,
  installDeb,
  lineInFile,
  minimalPackages,
  packageManager,
  packages,
  packageSource,
  pkg,
  remoteDirectory,
  remoteFile,
  remoteFileContent,
  retryUntil,
  sed,
  service,
  serviceScript,
  symbolicLink,
  transferFileToLocal,
  user,
  waitForFile,
} from '../../src/index.js';
import { compile, families } from '../helpers/compile.js';

type Row = [name: string, plan: () => void];

const tables: Record<string, Row[]> = {
  files: [
    ['file', () => void file('/srv/x/f', { mode: '0600', owner: 'root', group: 'root' })],
    ['file delete', () => void file('/srv/x/f', { action: 'delete' })],
    ['directory', () => void directory('/srv/x', { owner: 'root', mode: '0755' })],
    ['directory with only a mode', () => void directory('/srv/x/y', { mode: '0750' })],
    ['directories', () => void directories(['/srv/y', "/srv/it's"], { mode: '0700' })],
    ['symbolicLink', () => void symbolicLink('/srv/x/f', '/srv/x/l')],
    ['fifo', () => void fifo('/srv/x/p')],
    ['sed', () => void sed('/etc/a', { 'a(b)': 'c\\1' }, { restriction: '/^x/' })],
  ],
  'remote-file': [
    ['content', () => void remoteFile('/etc/a', { content: "it's $x `y`\n", mode: '0640' })],
    ['url with md5', () => void remoteFile('/etc/b', { url: 'http://deb.invalid/f', md5: '0'.repeat(32) })],
    ['from a node file, verified', () => void remoteFile('/etc/c', { remoteFile: '/etc/hostname', verify: 'test -s' })],
    ['link', () => void remoteFile('/etc/d', { link: '/etc/hostname' })],
    ['delete', () => void remoteFile('/etc/f', { action: 'delete' })],
  ],
  line: [
    ['lineInFile', () => void lineInFile('/etc/a', { regexp: '^x=', line: 'x=1', create: true, mode: '0600' })],
    ['lineInFile backrefs', () => void lineInFile('/etc/a', { regexp: '^(y)=.*', line: '\\1=2', backrefs: true })],
    ['lineInFile absent', () => void lineInFile('/etc/a', { regexp: '^z=', state: 'absent' })],
    ['blockInFile', () => void blockInFile('/etc/a', { block: 'a\nb', name: 'n', insertBefore: 'BOF' })],
  ],
  user: [
    ['group', () => void group('g1', { gid: 1234, system: true })],
    ['user', () => void user('u1', { shell: 'bash', groups: ['g1'], home: '/home/u1', comment: "U'ne" })],
    ['user lock', () => void user('u3', { action: 'lock' })],
    ['user remove', () => void user('u5', { action: 'remove', removeHome: true })],
  ],
  service: [
    ['restart', () => void service('ssh', { action: 'restart' })],
    ['enable', () => void service('ssh', { action: 'enable' })],
    ['serviceScript', () => void serviceScript('demo', { content: '#!/bin/sh\n' })],
  ],
  exec: [
    ['execScript creates', () => void execScript('echo hi', { creates: '/tmp/hi' })],
    ['execCheckedScript', () => void execCheckedScript('steps', ['echo a', 'false'])],
    ['exec perl', () => void exec({ language: 'perl' }, 'print "hi\\n";')],
  ],
  wait: [
    ['waitForFile', () => void waitForFile('/tmp/x', { maxRetries: 2, standoff: 0 })],
    ['retryUntil', () => void retryUntil({ maxRetries: 2, serviceName: 'db' }, 'test -e /tmp/x')],
  ],
  transfer: [
    ['remoteFileContent', () => void remoteFileContent('/etc/hostname')],
    ['transferFileToLocal', () => void transferFileToLocal('/etc/hostname', '/tmp/hostname')],
  ],
  'remote-directory': [
    ['from a url', () => void remoteDirectory('/opt/app', { url: 'http://deb.invalid/app.tgz', owner: 'root' })],
  ],
  package: [
    ['pkg', () => void [pkg('curl'), pkg('old', { action: 'remove' }), pkg('tzdata', { action: 'upgrade' })]],
    ['packages', () => void packages({ apt: ['less'], yum: ['less'], apk: ['less'], pacman: ['less'] })],
    ['minimalPackages', () => void minimalPackages()],
    ['packageManager update', () => void packageManager('update', { maxAge: 3600 })],
    ['packageManager upgrade', () => void packageManager('upgrade')],
    [
      'packageSource',
      () =>
        void packageSource('src', {
          apt: { url: 'http://deb.invalid/debian', keyUrl: 'http://deb.invalid/key.asc' },
          yum: { url: 'http://yum.invalid/' },
          apk: { url: 'http://apk.invalid/v3.20/community' },
          pacman: { url: 'http://arch.invalid/$repo/os/$arch', sigLevel: 'Optional TrustAll' },
          brew: { tap: 'acme/tools' },
        }),
    ],
    ['installDeb', () => void installDeb('/tmp/x.deb')],
    ['addRpm', () => void addRpm('/tmp/x.rpm')],
    [
      'debconfSetSelections',
      () => void debconfSetSelections({ package: 'tzdata', question: 'tzdata/Areas', type: 'select', value: 'Europe' }),
    ],
  ],
};

const update = process.env.PALLET_UPDATE_SCRIPTS === '1';
const dir = join(import.meta.dirname, 'scripts');

/** One section per call and mode; OS families with the same scripts share it. */
async function render(rows: Row[]): Promise<string> {
  const out: string[] = [];
  for (const [name, plan] of rows) {
    for (const check of [false, true]) {
      const byScript = new Map<string, string[]>();
      for (const os of families) {
        let text: string;
        try {
          const scripts = await compile(plan, os, { check });
          text = scripts.map((s) => `# action: ${s.action}\n${s.script}`).join('\n') || '(no script)';
        } catch (e) {
          text = `(refused: ${(e as Error).message})`;
        }
        byScript.set(text, [...(byScript.get(text) ?? []), `${os.osFamily} ${os.osVersion}`]);
      }
      for (const [text, oses] of byScript)
        out.push(`## ${name}${check ? ' (check mode)' : ''}: ${oses.join(', ')}`, text.trimEnd(), '');
    }
  }
  return out.join('\n');
}

for (const [family, rows] of Object.entries(tables)) {
  test(`${family}: the exact scripts for every OS family`, async () => {
    const golden = join(dir, `${family}.txt`);
    const actual = await render(rows);
    if (update || !existsSync(golden)) {
      writeFileSync(golden, actual);
      if (!update) assert.fail(`${golden} was missing and is now written: read it, then run the test again`);
      return;
    }
    assert.equal(
      actual,
      readFileSync(golden, 'utf8'),
      `the scripts of ${family} changed (see the header for how to update)`,
    );
  });
}
