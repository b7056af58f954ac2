/**
 * `dispatch`: choosing an implementation by OS family and version, and the errors when none fits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pkg } from '../../src/index.js';
import { compile } from '../helpers/compile.js';

test('dispatch errors are clear when a family has no implementation', async () => {
  await assert.rejects(
    compile(() => void pkg('x'), { osFamily: 'plan9', osVersion: '4' }),
    /pkg has no implementation for os family plan9/,
  );
});

test('dispatch: the most specific implementation wins; version ranges; default', async () => {
  const { dispatch } = await import('../../src/index.js');
  const impls = [
    { when: 'default' as const, impl: 'default' },
    { when: { osFamily: ['debian', 'ubuntu'] }, impl: 'debian-family' },
    { when: { osFamily: 'ubuntu', osVersion: { min: '22.04' } }, impl: 'new-ubuntu' },
    { when: { osFamily: 'ubuntu', packager: 'aptitude', osVersion: { max: '21' } }, impl: 'old-ubuntu-aptitude' },
  ];
  assert.equal(dispatch('t', impls, { osFamily: 'debian', osVersion: '12' }), 'debian-family');
  assert.equal(dispatch('t', impls, { osFamily: 'ubuntu', osVersion: '24.04' }), 'new-ubuntu');
  assert.equal(dispatch('t', impls, { osFamily: 'ubuntu', osVersion: '20.04' }), 'debian-family');
  assert.equal(
    dispatch('t', impls, { osFamily: 'ubuntu', osVersion: '20.04', packager: 'aptitude' }),
    'old-ubuntu-aptitude',
  );
  assert.equal(dispatch('t', impls, { osFamily: 'arch' }), 'default');
  assert.throws(
    () => dispatch('t', impls.slice(1), { osFamily: 'arch' }),
    /t has no implementation for os family arch/,
  );
});
