/**
 * No shell quirk may alter a byte on its way to the node. A property test run
 * in real dash (Debian's /bin/sh) on a Debian node over SSH: 100,000 random
 * strings (every code point 1-255, raw bytes 1-255 for content, quotes, `$()`,
 * backticks, newlines, and line-start prefixes of heredoc delimiters followed by
 * bytes >= 0x80, the case dash 0.5.12 corrupts) as file names, directory names,
 * file content (literal and expanded), exec arguments and environment values,
 * each read back byte for byte.
 *
 * The seed is fixed so a failure can be replayed; set PALLET_PROPERTY_SEED to
 * try others, PALLET_PROPERTY_COUNT to change the total.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import {
  directories,
  directory,
  exec,
  execScript,
  explainSession,
  file,
  groupSpec,
  lift,
  type makeUser,
  type nodeListService,
  remoteFile,
  withActionOptions,
  type ActionResult,
  type OperationResult,
  type PhaseFn,
} from '../../src/index.js';
import { removeNodes, startOneNode, type TestNode } from '../helpers/nodes.js';

const LABEL = 'bytes-property';
const SEED = Number(process.env.PALLET_PROPERTY_SEED ?? 20261202);
const TOTAL = Number(process.env.PALLET_PROPERTY_COUNT ?? 100_000);
let node: TestNode;
let compute: ReturnType<typeof nodeListService>;
let admin: ReturnType<typeof makeUser>;

before(async () => {
  ({ node, compute, admin } = await startOneNode(LABEL));
});

after(() => removeNodes(LABEL));

// -- generators ---------------------------------------------------------------
const prefixes = ['P', 'PA', 'PAL', 'PALLET_EOF', 'PALLET_EOF_', 'PALLET_B64', 'E', 'EOF'];
const high = fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c));
const tokens = [
  "'",
  '"',
  '$(',
  ')',
  '`',
  '\\',
  '\n',
  '$HOME',
  '${x}',
  "'\\''",
  ' ',
  '\t',
  '\r',
  '*',
  '?',
  '[',
  '#',
  '~',
  ';',
  '&',
  '|',
  '<',
  '>',
  '日',
  '💡',
  'é',
];
const unit = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 0xff }).map((c) => String.fromCharCode(c)) },
  { weight: 2, arbitrary: fc.constantFrom(...tokens) },
  { weight: 1, arbitrary: fc.tuple(fc.constant('\n'), fc.constantFrom(...prefixes), high).map((x) => x.join('')) },
);
/** A string; half start with a delimiter prefix and a byte >= 0x80. */
const text = fc
  .tuple(
    fc.option(
      fc.tuple(fc.constantFrom(...prefixes), high).map((x) => x.join('')),
      { freq: 2 },
    ),
    fc.array(unit, { maxLength: 16 }),
  )
  .map(([start, rest]) => (start ?? '') + rest.join(''));

function sample(n: number, seedOffset: number, keep: (s: string) => boolean = () => true, unique = false): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  let round = 0;
  while (out.length < n) {
    for (const s of fc.sample(text, { seed: SEED + seedOffset * 1000 + round++, numRuns: n })) {
      if (out.length >= n) break;
      if (!keep(s) || (unique && seen.has(s))) continue;
      seen.add(s);
      out.push(s);
    }
  }
  return out;
}

const okName = (s: string) => s !== '' && s !== '.' && s !== '..' && !s.includes('/') && Buffer.byteLength(s) <= 255;
const noExpansion = (s: string) => !/[$`\\]/.test(s);
const rawBytes = (n: number, seedOffset: number): Buffer[] =>
  fc
    .sample(
      fc.tuple(
        fc.option(fc.tuple(fc.constantFrom(...prefixes), fc.integer({ min: 0x80, max: 0xff })), { freq: 2 }),
        fc.uint8Array({ maxLength: 24 }),
      ),
      { seed: SEED + seedOffset, numRuns: n },
    )
    .map(([p, bytes]) =>
      Buffer.concat([
        p ? Buffer.concat([Buffer.from(p[0]), Buffer.from([p[1]])]) : Buffer.alloc(0),
        Buffer.from(bytes.map((b) => (b === 0 ? 1 : b))),
      ]),
    );

// -- helpers ------------------------------------------------------------------
async function ok(phase: PhaseFn): Promise<ActionResult[]> {
  const r: OperationResult = await lift(groupSpec('box'), { compute, user: admin, phase });
  assert.equal(
    r.ok,
    true,
    explainSession(r, { showDetail: false }) +
      JSON.stringify(r.results.flatMap((x) => x.actions).find((a) => a.error)?.error),
  );
  return r.results.filter((x) => !x.phase.startsWith('pallet/')).flatMap((x) => x.actions);
}

function nodeBytes(cmd: string): Buffer {
  const r = spawnSync('podman', ['exec', node.container, 'sh', '-c', cmd], { maxBuffer: 1 << 30 });
  assert.equal(r.status, 0, r.stderr.toString());
  return r.stdout;
}

const nulList = (b: Buffer): string[] => {
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i < b.length; i++)
    if (b[i] === 0) (parts.push(b.subarray(start, i).toString('hex')), (start = i + 1));
  return parts;
};
const hexSorted = (xs: ReadonlyArray<string>) => xs.map((x) => Buffer.from(x).toString('hex')).sort();
const chunks = <T>(xs: T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(xs.length / size) }, (_, i) => xs.slice(i * size, (i + 1) * size));

const counts = {
  fileNames: Math.round(TOTAL * 0.05),
  dirNames: Math.round(TOTAL * 0.1),
  literal: Math.round(TOTAL * 0.3),
  expanded: Math.round(TOTAL * 0.1),
  execArgs: Math.round(TOTAL * 0.2),
  envValues: Math.round(TOTAL * 0.25),
};
const done: Record<string, number> = {};

test('file names (file) and directory names (directories) arrive byte for byte', async () => {
  const names = sample(counts.fileNames, 1, okName, true);
  await ok(() => {
    directory('/srv/pt/files');
    for (const n of names) file(`/srv/pt/files/${n}`);
  });
  assert.deepEqual(
    nulList(nodeBytes("find /srv/pt/files -mindepth 1 -maxdepth 1 -printf '%f\\0'")).sort(),
    hexSorted(names),
  );
  const dirs = sample(counts.dirNames, 2, okName, true);
  await ok(() => {
    for (const c of chunks(dirs, 1000)) directories(c.map((d) => `/srv/pt/dirs/${d}`));
  });
  assert.deepEqual(
    nulList(nodeBytes("find /srv/pt/dirs -mindepth 1 -maxdepth 1 -type d -printf '%f\\0'")).sort(),
    hexSorted(dirs),
  );
  done.fileNames = names.length;
  done.dirNames = dirs.length;
});

test('file content, literal (raw bytes 1-255) and expanded, arrives byte for byte', async () => {
  const literal = chunks(rawBytes(counts.literal, 3), 50).map((c) =>
    Buffer.concat(c.flatMap((b) => [b, Buffer.from('\n')])),
  );
  const expanded = chunks(sample(counts.expanded, 4, noExpansion), 50).map((c) => `${c.join('\n')}\n`);
  await ok(() => {
    directory('/srv/pt/content');
    literal.forEach((content, i) => remoteFile(`/srv/pt/content/l${i}`, { content, noVersioning: true }));
    expanded.forEach((content, i) =>
      remoteFile(`/srv/pt/content/e${i}`, { content, literal: false, noVersioning: true }),
    );
  });
  // One read of every file: name NUL content-length NUL content.
  const all = nodeBytes(
    'cd /srv/pt/content && for f in *; do printf "%s\\0%s\\0" "$f" "$(wc -c < "$f")"; cat "$f"; done',
  );
  const got = new Map<string, Buffer>();
  for (let at = 0; at < all.length;) {
    const a = all.indexOf(0, at);
    const b = all.indexOf(0, a + 1);
    const len = Number(all.subarray(a + 1, b).toString());
    got.set(all.subarray(at, a).toString(), all.subarray(b + 1, b + 1 + len));
    at = b + 1 + len;
  }
  literal.forEach((c, i) => assert.ok(got.get(`l${i}`)?.equals(c), `literal file l${i} differs`));
  expanded.forEach((c, i) => assert.ok(got.get(`e${i}`)?.equals(Buffer.from(c)), `expanded file e${i} differs`));
  done.literal = counts.literal;
  done.expanded = counts.expanded;
});

test('exec arguments and environment values arrive byte for byte', async () => {
  const args = chunks(sample(counts.execArgs, 5), 500);
  const envs = chunks(sample(counts.envValues, 6), 500);
  const acts = await ok(() => {
    for (const c of args)
      exec({ interpreter: '/usr/bin/printf', interpreterArgs: ['%s\\0', ...c], changes: 'never' }, '');
    for (const c of envs) {
      const env = Object.fromEntries(c.map((v, i) => [`PT_${i}`, v]));
      withActionOptions({ scriptEnv: env }, () =>
        execScript(`printf '%s\\0' ${c.map((_, i) => `"$PT_${i}"`).join(' ')}`, { changes: 'never' }),
      );
    }
  });
  const outs = acts.filter((a) => a.action === 'exec' || a.action === 'execScript').map((a) => a.out.split('\0'));
  args.forEach((c, i) => {
    const got = outs[i]!.slice(0, c.length);
    assert.deepEqual(got, c, `exec arguments, chunk ${i}`);
  });
  envs.forEach((c, i) =>
    assert.deepEqual(outs[args.length + i]!.slice(0, c.length), c, `environment values, chunk ${i}`),
  );
  done.execArgs = counts.execArgs;
  done.envValues = counts.envValues;
});

test('count and seed', () => {
  const total = Object.values(done).reduce((a, b) => a + b, 0);
  console.log(`bytes property test: ${total} strings, seed ${SEED}: ${JSON.stringify(done)}`);
  assert.equal(total, TOTAL);
});
