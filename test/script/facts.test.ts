/**
 * The facts probe's parser (on a real probe output from the test image, and on a node without `ip` or `df`),
 * Ansible's fact names in templates, and plans that read facts in explain.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseFacts, type Facts } from '../../src/script/facts.js';
import { ansibleFacts } from '../../src/template/context.js';
import { explainPlan } from '../../src/report/explain.js';
import { facts, remoteFile } from '../../src/index.js';

const real = readFileSync(join(import.meta.dirname, '../fixtures/facts/podman-debian12.txt'), 'utf8');

test('a real probe output: OS, kernel, CPUs, memory, init, container, interfaces, default routes, mounts', () => {
  const f = parseFacts(real);
  assert.deepEqual(f.os, {
    family: 'debian',
    distribution: 'debian',
    version: '12',
    majorVersion: '12',
    pointRelease: '12.15',
    codename: 'bookworm',
    name: 'Debian GNU/Linux 12 (bookworm)',
  });
  assert.deepEqual(f.kernel, { name: 'Linux', release: '6.18.44-fc-v1300' });
  assert.equal(f.arch, 'x86_64');
  assert.equal(f.hostname, 'web1.example.org');
  assert.equal(f.fqdn, 'web1.example.org');
  assert.equal(f.cpuCount, 2);
  assert.equal(f.vcpus, 2);
  assert.equal(f.memory.totalBytes, 24683772 * 1024);
  assert.equal(f.packager, 'apt');
  assert.equal(f.init, 'sh', "a container's PID 1 is its own program");
  assert.equal(f.container, 'podman');
  const eth0 = f.interfaces.find((i) => i.name === 'eth0')!;
  assert.deepEqual(eth0.ipv4, ['10.88.0.136/16']);
  assert.equal(eth0.state, 'up');
  assert.match(eth0.mac ?? '', /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
  assert.ok(eth0.ipv6.some((a) => a.startsWith('fe80::')));
  const lo = f.interfaces.find((i) => i.name === 'lo')!;
  assert.equal(lo.mac, undefined, 'an all-zero MAC is no MAC');
  assert.deepEqual(lo.ipv4, ['127.0.0.1/8']);
  assert.deepEqual(f.defaultIpv4, { interface: 'eth0', address: '10.88.0.136', gateway: '10.88.0.1' });
  assert.equal(f.defaultIpv6, undefined, 'only a link-local route: no default IPv6 route');
  const root = f.mounts.find((m) => m.mountPoint === '/')!;
  assert.deepEqual(root, {
    device: 'overlay',
    mountPoint: '/',
    fsType: 'overlay',
    sizeBytes: 264212084 * 1024,
    usedBytes: root.usedBytes,
    availableBytes: root.availableBytes,
  });
  assert.ok(root.usedBytes > 0 && root.availableBytes > 0);
});

test('what the probe cannot read stays undefined: no ip command, no df, no os-release', () => {
  const f = parseFacts(
    [
      'os=Linux',
      'rev=5.10.0',
      'mach=aarch64',
      'hostname=tiny',
      'fqdn=',
      'cpus=',
      'pid1=systemd',
      'systemd_booted=1',
      '@links',
      'eth0 02:00:00:00:00:01 up',
      '@inet6',
      '20010db8000000000000000000000010 02 40 00 00     eth0',
      '@route',
      'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
      '@route6',
      '00000000000000000000000000000000 00 00000000000000000000000000000000 00 20010db8000000000000000000000001 00000400 00000001 00000000 00000003     eth0',
      '@end',
    ].join('\n'),
  );
  assert.deepEqual(f.os, {});
  assert.equal(f.packager, undefined);
  assert.equal(f.fqdn, undefined);
  assert.equal(f.cpuCount, undefined);
  assert.deepEqual(f.memory, {});
  assert.equal(f.init, 'systemd');
  assert.equal(f.container, undefined);
  assert.equal(f.vm, undefined);
  assert.deepEqual(
    f.interfaces,
    [{ name: 'eth0', mac: '02:00:00:00:00:01', state: 'up', ipv6: ['2001:db8::10/64'] }],
    'IPv4 unknown (no ip command), IPv6 from /proc',
  );
  assert.equal(f.defaultIpv4, undefined);
  assert.deepEqual(f.defaultIpv6, {
    interface: 'eth0',
    address: '2001:db8::10/64'.replace(/\/64$/, ''),
    gateway: '2001:db8::1',
  });
  assert.deepEqual(f.mounts, []);
});

test("templates see facts under Ansible's names; unknown ones are left out, not guessed", () => {
  const a = ansibleFacts(parseFacts(real));
  assert.equal(a.ansible_processor_vcpus, 2);
  assert.equal(a.ansible_distribution, 'Debian');
  assert.equal(a.ansible_os_family, 'Debian');
  assert.equal(a.ansible_distribution_release, 'bookworm');
  assert.equal(a.ansible_distribution_major_version, '12');
  // As Ansible's setup module reads a Debian 12 node without python3-distro (checked with ansible-core 2.14 on
  // the test image): VERSION_ID, and the minor version from /etc/debian_version.
  assert.equal(a.ansible_distribution_version, '12');
  assert.equal(a.ansible_distribution_minor_version, '15');
  assert.equal(a.ansible_hostname, 'web1');
  assert.equal(a.ansible_pkg_mgr, 'apt');
  assert.deepEqual(a.ansible_default_ipv4, { interface: 'eth0', address: '10.88.0.136', gateway: '10.88.0.1' });
  assert.ok(!('ansible_fqdn' in ansibleFacts(parseFacts('os=Linux\n'))));
});

test('explain shows a plan that reads facts() when given facts, and says how to give them otherwise', async () => {
  const f: Facts = parseFacts(real);
  const plan = () => void remoteFile('/etc/app/workers', { content: `workers ${facts().cpuCount}\n` });
  const out = await explainPlan(plan, { facts: f, showContent: true });
  assert.match(out, /CONTENT:\n\s+> workers 2\n/);
  await assert.rejects(
    explainPlan(plan),
    /facts\(\): no facts for node 'mock-node'[\s\S]*give facts to explain with --facts/,
  );
});
