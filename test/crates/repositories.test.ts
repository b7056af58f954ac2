/**
 * `addEpel`: a valid script for the Red Hat family, skipped when epel-release is installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compile, families, syntaxErrors, type Os } from '../helpers/compile.js';

test('addEpel: a valid script for the Red Hat family, skipped when epel-release is installed', async () => {
  const { addEpel } = await import('../../src/index.js');
  const rhel = families.find((f) => f.osFamily === 'rocky' || f.osFamily === 'centos' || f.osFamily === 'rhel') ?? {
    osFamily: 'rhel',
    osVersion: '9',
  };
  for (const opts of [{}, { version: 9 }]) {
    const [s] = await compile(() => addEpel(opts), rhel as Os);
    assert.equal(syntaxErrors(s!.script), '');
    assert.match(s!.script, /rpm -q --quiet epel-release/);
    assert.match(s!.script, /epel-release-latest-\$pallet_v\.noarch\.rpm/);
  }
});
