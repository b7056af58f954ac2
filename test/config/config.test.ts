import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configuredAdminUser, SpecError } from '../../src/index.js';
import { loadConfig, serviceFromConfig } from '../../src/entry/config.js';

const home = () => mkdtempSync(join(tmpdir(), 'pallet-home-'));

test('no configuration: the localhost service and no configured admin user', () => {
  const cfg = loadConfig(home());
  assert.equal(serviceFromConfig(cfg).provider, 'localhost');
  assert.equal(configuredAdminUser(cfg), undefined);
});

test('YAML config: default service, admin user with secrets from the environment, service files', () => {
  const h = home();
  writeFileSync(
    join(h, 'config.yaml'),
    'defaultService: b\nadminUser:\n  username: ops\n  privateKeyPath: ~/.ssh/ops\n  passphraseEnv: TEST_PALLET_PASS\nservices:\n  a: { provider: localhost }\n',
  );
  mkdirSync(join(h, 'services'));
  writeFileSync(
    join(h, 'services', 'b.json'),
    JSON.stringify({ b: { provider: 'node-list', nodes: [['web1', 'web', '192.0.2.1', 'debian']] } }),
  );
  process.env.TEST_PALLET_PASS = 's3cret';
  const cfg = loadConfig(h);
  const u = configuredAdminUser(cfg)!;
  assert.equal(u.username, 'ops');
  assert.equal(u.passphrase, 's3cret');
  assert.match(u.privateKeyPath!, /\/\.ssh\/ops$/);
  assert.equal(u.publicKeyPath, `${u.privateKeyPath}.pub`);
  const svc = serviceFromConfig(cfg);
  assert.equal(svc.name, 'b');
  assert.equal(svc.provider, 'node-list');
  delete process.env.TEST_PALLET_PASS;
  assert.throws(() => configuredAdminUser(cfg), /TEST_PALLET_PASS is not set/);
});

test('bad configuration is rejected with the file and the key named', () => {
  const h = home();
  writeFileSync(
    join(h, 'config.json'),
    JSON.stringify({ services: { x: { provider: 'node-list', nodes: [], sssh: {} } } }),
  );
  assert.throws(
    () => serviceFromConfig(loadConfig(h), 'x'),
    (e: unknown) => e instanceof SpecError && /service 'x' \(node-list\): unknown key 'sssh'/.test(e.message),
  );
  writeFileSync(join(h, 'config.json'), JSON.stringify({ defualtService: 'x' }));
  assert.throws(() => loadConfig(h), /config\.json: unknown key 'defualtService'/);
  writeFileSync(join(h, 'config.json'), JSON.stringify({ services: { y: { provider: 'cloud9' } } }));
  assert.throws(
    () => serviceFromConfig(loadConfig(h), 'y'),
    /names the provider 'cloud9', which is not available\. Providers: localhost, node-list/,
  );
});
