/**
 * Exact scripts of `user`: the stanza for a new or an existing user, with short flags everywhere.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { group, user } from '../../src/index.js';
import { compile } from '../helpers/compile.js';

test('user: exact stanza for a new or existing user; short flags everywhere', async () => {
  const [s] = await compile(() => {
    group('deployers', { gid: 4242 });
    user('deploy', { shell: 'bash', comment: 'Deploy user', groups: ['deployers'], home: '/srv/deploy' });
  });
  assert.equal(s!.action, 'group');
  const [, u] = await compile(() => {
    group('deployers');
    user('deploy', { shell: 'bash', comment: 'Deploy user', groups: ['deployers'], home: '/srv/deploy' });
  });
  assert.equal(
    u!.script,
    [
      'pallet_failed=',
      '(',
      "if getent passwd 'deploy' >/dev/null; then",
      'set --',
      `[ "$(getent passwd 'deploy' | cut -d: -f6)" = '/srv/deploy' ] || set -- "$@" -d '/srv/deploy'`,
      `[ "$(getent passwd 'deploy' | cut -d: -f7)" = '/bin/bash' ] || set -- "$@" -s '/bin/bash'`,
      `[ "$(getent passwd 'deploy' | cut -d: -f5)" = 'Deploy user' ] || set -- "$@" -c 'Deploy user'`,
      `pallet_pg="$(id -gn 'deploy')"`,
      `pallet_cur=$(id -Gn 'deploy' | tr ' ' '\\n' | grep -vxF "$pallet_pg" | LC_ALL=C sort -u | paste -sd, -)`,
      `pallet_want=$(printf '%s\\n' 'deployers' | grep -v '^$' | grep -vxF "$pallet_pg" | LC_ALL=C sort -u | paste -sd, -)`,
      '[ "$pallet_cur" = "$pallet_want" ] || set -- "$@" -G "$pallet_want"',
      `if [ $# -gt 0 ]; then usermod "$@" 'deploy' || exit 1; pallet_changed; fi`,
      'else',
      "useradd -m -d '/srv/deploy' -c 'Deploy user' -G 'deployers' -s '/bin/bash' 'deploy' || exit 1; pallet_changed",
      'fi',
      `) || pallet_failed="$pallet_failed "'deploy'`,
      'if [ -n "$pallet_failed" ]; then echo "user: failed for:$pallet_failed" >&2; exit 1; fi',
    ].join('\n'),
  );
  await assert.rejects(
    compile(() => void user('bad:name')),
    /user and group names/,
  );
});
