/**
 * Type-level tests of the public API: `npm run typecheck` (part of `npm test`) fails if a line marked
 * `@ts-expect-error` stops being an error, so these mistakes stay caught in the editor. Nothing here runs.
 */
import { facts, groupSpec, lift, nodeSpec, remoteFile, type Facts } from '../../src/index.js';

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
}
