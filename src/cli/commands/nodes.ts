/** `pallet nodes`: list the service's nodes. */
import type { Command } from 'commander';
import type { CommandKit } from '../kit.js';
import { table } from '../output.js';

export function register(program: Command, kit: CommandKit): void {
  program
    .command('nodes')
    .description("list the service's nodes")
    .action(
      kit.act(async () => {
        const ctx = kit.ctx();
        const nodes = await ctx.service().nodes();
        if (ctx.g.json) {
          for (const n of nodes) {
            ctx.write(
              `${JSON.stringify({ event: 'node', id: n.id, group: n.groupName, ip: n.primaryIp, privateIp: n.privateIp ?? null, sshPort: n.sshPort, hostname: n.hostname, osFamily: n.osFamily ?? null, osVersion: n.osVersion ?? null, running: n.running })}\n`,
            );
          }
          return 0;
        }
        const rows = [['GROUP', 'ID', 'IP', 'PRIVATE IP', 'SSH', 'HOSTNAME', 'OS']];
        for (const n of nodes)
          rows.push([
            n.groupName,
            n.id,
            n.primaryIp,
            n.privateIp ?? '-',
            String(n.sshPort),
            n.hostname,
            [n.osFamily, n.osVersion].filter(Boolean).join(' ') || '-',
          ]);
        ctx.write(table(rows));
        return 0;
      }),
    );
}
