/**
 * Jinja templates rendered as Ansible renders them: real templates of widely used public roles
 * (test/fixtures/jinja/<name>: template.j2 and vars.yml from the role, `expected` written by Ansible's own
 * template module with render-with-ansible.sh), compared byte for byte; then the pieces one by one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { jinjaContext, renderJinja } from '../../src/template/jinja.js';

const dir = join(import.meta.dirname, '../fixtures/jinja');
const fixtures = readdirSync(dir, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);

test('there are fixtures from several roles', () => assert.ok(fixtures.length >= 6, fixtures.join(', ')));

for (const name of fixtures) {
  test(`${name}: byte for byte what Ansible renders`, () => {
    const file = join(dir, name, 'template.j2');
    const vars = parse(readFileSync(join(dir, name, 'vars.yml'), 'utf8'), { uniqueKeys: false }) as Record<
      string,
      unknown
    >;
    const out = renderJinja(readFileSync(file, 'utf8'), jinjaContext(vars), file);
    assert.equal(out, readFileSync(join(dir, name, 'expected'), 'utf8'));
  });
}

test('errors name the file, the line and what is wrong, as Ansible does', () => {
  const render = (t: string, vars: Record<string, unknown> = {}) =>
    renderJinja(t, jinjaContext(vars), 'roles/web/templates/site.conf.j2');
  assert.throws(
    () => render('a\nb {{ missing_var }}\n'),
    /^Error: roles\/web\/templates\/site\.conf\.j2:2: 'missing_var' is undefined$|site\.conf\.j2:2: 'missing_var' is undefined/,
  );
  assert.throws(
    () => render('{{ x | default(also_missing) }}\n'),
    /site\.conf\.j2:1: 'x \| default\(also_missing\)' is undefined/,
  );
  assert.throws(
    () => render('ok\n{{ y }}\n', { y: '{{ z }}' }),
    /site\.conf\.j2:2: 'y' is undefined \(its value '\{\{ z \}\}' is undefined\)/,
  );
  assert.throws(() => render('x\n{% if %}\n'), /site\.conf\.j2:2:/);
  assert.throws(() => render('{{ 1 | no_such_filter }}\n'), /site\.conf\.j2(:1)?: filter not found: no_such_filter/);
  // A null value prints nothing (Ansible's finalize); inside a list it is Python's None.
  assert.equal(render('[{{ n }}] {{ [n] }}\n', { n: null }), '[] [None]\n');
});
