/**
 * The public surface: the root export is what a project file needs; engine internals live in subpath exports
 * (`pallet/providers`, `pallet/report`, `pallet/config`), each declared in package.json with its types.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as root from '../../src/index.js';

const internals = [
  'registerProvider',
  'supportedProviders',
  'serviceFromConfig',
  'sshTransport',
  'loadConfig',
  'palletHome',
  'loadProject',
  'projectGroups',
  'jsonRenderer',
  'lineRenderer',
  'liveRenderer',
  'summarise',
  'summaryText',
  'redactor',
];

test('the root export has what a project file needs and none of the engine internals', () => {
  for (const name of internals) assert.ok(!(name in root), `${name} is not in the root export`);
  for (const name of [
    'groupSpec',
    'lift',
    'converge',
    'remoteFile',
    'pkg',
    'facts',
    'nodeVars',
    'computeService',
    'configuredAdminUser',
    'nodeListService',
    'defineProject',
    'explainSession',
    'SpecError',
    'fail2ban',
  ]) {
    assert.ok(name in root, `${name} is in the root export`);
  }
});

test('each subpath is declared with its types and loads from the built package', async () => {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
    exports: Record<string, { types: string; import: string }>;
  };
  const expected: Record<string, string[]> = {
    './providers': ['registerProvider', 'supportedProviders', 'sshTransport', 'readAnsibleInventory'],
    './report': ['jsonRenderer', 'lineRenderer', 'liveRenderer', 'summarise', 'summaryText', 'redactor'],
    './config': ['loadConfig', 'palletHome', 'serviceFromConfig', 'loadProject', 'projectGroups'],
  };
  for (const [sub, names] of Object.entries(expected)) {
    const e = pkg.exports[sub]!;
    assert.ok(existsSync(e.types), `${sub}: ${e.types} (build first)`);
    const mod = (await import(`pallet${sub.slice(1)}`)) as Record<string, unknown>;
    for (const n of names) assert.equal(typeof mod[n], 'function', `pallet${sub.slice(1)} exports ${n}`);
  }
});
