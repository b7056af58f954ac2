/**
 * Start-up: what a user waits for before pallet touches a node. `node -e 0` (Node itself, the baseline measured
 * in the same run), `pallet --version` (the CLI), and `pallet --project P lift --dry-run` on the localhost
 * service (start-up, the configuration, a TypeScript project, its groups and counts; no node is contacted) for
 * the quick start's project (examples/hello) and for the real workload's (bench/workload: it also loads the
 * yaml package for its variables), with the compiled project cached (every run after the first) and compiled
 * anew (the first run after an edit), and with pallet itself compiled from source instead of run from V8's code
 * cache (src/boot/image.ts). The commands take turns, so a slower minute slows all of them; medians of
 * `reps` runs each.
 *
 *   npm run bench -- --startup 30
 *   PALLET_BENCH_BASELINE=/tmp/before npm run bench -- --startup 30   # and a built checkout of another commit
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { median } from './lib.js';

export function measureStartup(reps: number): string[] {
  const home = mkdtempSync(join(tmpdir(), 'pallet-startup-'));
  const bin = resolve('dist/cli/main.js');
  const project = resolve('bench/workload/pallet.config.ts');
  const env = { ...process.env, PALLET_HOME: home, NO_COLOR: '1' };
  const time = ({ args, home: caseHome, env: extra, before }: (typeof cases)[number]): number => {
    before?.();
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, {
      env: { ...env, ...extra, PALLET_HOME: caseHome ?? home },
      encoding: 'utf8',
    });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
    return ms;
  };
  const cases: Array<{ name: string; args: string[]; home?: string; env?: NodeJS.ProcessEnv; before?: () => void }> = [
    { name: '`node -e 0`', args: ['-e', '0'] },
    { name: '`pallet --version`', args: [bin, '--version'] },
    {
      name: '`pallet --project examples/hello/pallet.config.ts lift --dry-run`, project cached',
      args: [bin, '--project', resolve('examples/hello/pallet.config.ts'), 'lift', '--dry-run'],
    },
    {
      name: '`pallet --project bench/workload/pallet.config.ts lift --dry-run`, project cached',
      args: [bin, '--project', project, 'lift', '--dry-run'],
    },
    {
      name: 'the same, pallet compiled from source (`PALLET_CODE_CACHE=off`)',
      args: [bin, '--project', project, 'lift', '--dry-run'],
      env: { PALLET_CODE_CACHE: 'off' },
    },
    {
      name: 'the same, project compiled (cache removed first)',
      args: [bin, '--project', project, 'lift', '--dry-run'],
      home: join(home, 'uncached'),
      before: () => rmSync(join(home, 'uncached'), { recursive: true, force: true }),
    },
  ];
  // Another checkout, built, measured in the same turns (before/after a change): PALLET_BENCH_BASELINE=<dir>.
  const base = process.env.PALLET_BENCH_BASELINE;
  if (base) {
    const baseBin = resolve(base, 'dist/cli/main.js');
    cases.push(
      { name: `baseline (${base}): \`pallet --version\``, args: [baseBin, '--version'] },
      {
        name: `baseline (${base}): \`pallet --project bench/workload/... lift --dry-run\``,
        args: [baseBin, '--project', resolve(base, 'bench/workload/pallet.config.ts'), 'lift', '--dry-run'],
      },
    );
  }
  const times = cases.map(() => [] as number[]);
  cases.forEach((c) => time(c)); // fills the caches
  for (let i = 0; i < reps; i++) cases.forEach((c, j) => times[j]!.push(time(c)));
  rmSync(home, { recursive: true, force: true });
  const node = median(times[0]!);
  return [
    `### Start-up (median of ${reps} runs each, taking turns)`,
    '',
    '| command | wall | minus `node -e 0` |',
    '|---|---|---|',
    ...cases.map((c, j) => {
      const m = median(times[j]!);
      return `| ${c.name} | ${m.toFixed(0)} ms | ${j === 0 ? '-' : `${(m - node).toFixed(0)} ms`} |`;
    }),
    '',
  ];
}
