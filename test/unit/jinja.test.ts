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
const fixtures = readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);

test('there are fixtures from several roles', () => assert.ok(fixtures.length >= 6, fixtures.join(', ')));

for (const name of fixtures) {
  test(`${name}: byte for byte what Ansible renders`, () => {
    const file = join(dir, name, 'template.j2');
    const vars = parse(readFileSync(join(dir, name, 'vars.yml'), 'utf8'), { uniqueKeys: false }) as Record<string, unknown>;
    const out = renderJinja(readFileSync(file, 'utf8'), jinjaContext(vars), file);
    assert.equal(out, readFileSync(join(dir, name, 'expected'), 'utf8'));
  });
}
