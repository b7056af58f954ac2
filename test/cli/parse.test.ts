import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePhase, phaseName, positiveInt, projectId, seconds, UsageError } from '../../src/cli/common.js';
import { parseCounts } from '../../src/cli/commands/converge.js';
import { table } from '../../src/cli/output.js';

test('phase references: name, or name:args parsed as YAML scalars', () => {
  assert.equal(parsePhase('configure'), 'configure');
  assert.deepEqual(parsePhase('deploy:2,true,v1.2,x y'), { name: 'deploy', args: [2, true, 'v1.2', 'x y'] });
  assert.equal(phaseName(parsePhase('deploy:1')), 'deploy');
  assert.equal(
    phaseName(() => {}),
    'inline',
  );
});

test('group=count pairs; anything else is a usage error naming it', () => {
  assert.deepEqual(
    [...parseCounts(['web=2', 'db=0'])],
    [
      ['web', 2],
      ['db', 0],
    ],
  );
  assert.throws(
    () => parseCounts(['web=-1']),
    (e: unknown) => e instanceof UsageError && /'web=-1' is not group=count/.test(e.message),
  );
  assert.throws(() => parseCounts(['web']), UsageError);
});

test('numeric options refuse what is not a positive number', () => {
  assert.equal(positiveInt('4'), 4);
  assert.throws(() => positiveInt('0'), /--concurrency must be a whole number above 0, not '0'/);
  assert.throws(() => positiveInt('1.5'), UsageError);
  assert.equal(seconds('0.5'), 0.5);
  assert.throws(() => seconds('soon'), /--connect-timeout/);
});

test('project ids are stable per path and differ between projects with the same directory name', () => {
  assert.equal(projectId('/a/site/pallet.config.ts'), projectId('/a/site/pallet.config.ts'));
  assert.notEqual(projectId('/a/site/pallet.config.ts'), projectId('/b/site/pallet.config.ts'));
  assert.match(projectId('/a/my site!/pallet.config.ts'), /^my_site_-[0-9a-f]{8}$/);
});

test('tables pad every column to its widest cell', () => {
  assert.equal(
    table([
      ['A', 'BB'],
      ['ccc', 'd'],
    ]),
    'A    BB\nccc  d\n',
  );
});
