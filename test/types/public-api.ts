/**
 * Type-level tests of the public API: `npm run typecheck` (part of `npm test`) fails if a line marked
 * `@ts-expect-error` stops being an error, so these mistakes stay caught in the editor. Nothing here runs.
 */
import {
  converge,
  facts,
  groupSpec,
  lift,
  nodeSpec,
  planFn,
  remoteFile,
  serverSpec,
  type Facts,
  type GroupSpec,
} from '../../src/index.js';

export function typeChecks(): void {
  // @ts-expect-error a misspelt image key is a type error (and a SpecError at run time)
  nodeSpec({ image: { imageID: 'localhost/debian:12' } });
  // @ts-expect-error hardware sizes are numbers
  nodeSpec({ hardware: { minRam: '512' } });
  // @ts-expect-error an unknown location key
  nodeSpec({ location: { region: 'eu' } });
  nodeSpec({ image: { imageId: 'localhost/debian:12', osFamily: 'debian' }, provider: { docker: { anything: true } } });

  // @ts-expect-error remoteFile needs a path
  remoteFile();
  // @ts-expect-error an unknown remoteFile option
  remoteFile('/etc/motd', { contnet: 'hello\n' });

  // Facts are typed, and unknown ones are undefined.
  const f: Facts = facts();
  const cpus: number | undefined = f.cpuCount;
  // @ts-expect-error cpuCount may be undefined
  const sure: number = facts().cpuCount;
  void cpus;
  void sure;

  // @ts-expect-error an unknown operation option
  void lift(groupSpec('web'), { concurency: 2 });
  // @ts-expect-error a slice is { index, count }
  void lift(groupSpec('web'), { slice: 2 });

  // A postPhase hook reads typed results.
  void lift(groupSpec('web'), {
    postPhase: (info) => {
      const failed: string[] = info.results.filter((r) => !r.ok).map((r) => r.node?.id ?? r.groupName);
      // @ts-expect-error results have no 'status'
      void info.results[0]?.status;
      void failed;
    },
  });

  // Phase names and arguments are checked against the phases a group defines (and the ones it extends).
  const deploy = planFn('deploy', (version: string, canary?: boolean) => void [version, canary]);
  const base = serverSpec({ phases: { backup: (target: string) => void target } });
  const app = groupSpec('app', { extends: base, phases: { deploy, restart: () => {} } });
  void lift(app, { phase: 'restart' });
  void lift(app, { phase: ['configure', { name: 'deploy', args: ['v2'] }, { name: 'backup', args: ['/srv'] }] });
  void lift(app, { phase: { name: 'deploy', args: ['v2', true] } });
  // @ts-expect-error a misspelt phase name
  void lift(app, { phase: 'deplyo' });
  // @ts-expect-error deploy needs its version
  void lift(app, { phase: 'deploy' });
  // @ts-expect-error the version is a string
  void lift(app, { phase: { name: 'deploy', args: [2] } });
  // @ts-expect-error too many arguments
  void lift(app, { phase: { name: 'restart', args: ['now'] } });
  // @ts-expect-error an inherited phase keeps its arguments
  void lift(app, { phase: { name: 'backup', args: [] } });
  // @ts-expect-error an inline plan function gets no arguments
  void lift(app, { phase: (version: string) => void version });
  void converge([[app, 2]], { phase: { name: 'deploy', args: ['v3'] } });
  // @ts-expect-error converge checks phases as lift does
  void converge([[app, 2]], { phase: 'deplyo' });
  // A group typed as plain GroupSpec (a project file's) takes any phase.
  const loaded: GroupSpec = app;
  void lift([loaded], { phase: { name: 'anything', args: [1, 'x'] } });
}
