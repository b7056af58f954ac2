/** `pallet services`: the configured compute services. */
import type { Command } from 'commander';
import { loadConfig, serviceName } from '../../config/config.js';
import type { CommandKit } from '../kit.js';
import { table } from '../output.js';

export function register(program: Command, kit: CommandKit): void {
  program
    .command('services')
    .description('list the configured compute services')
    .action(
      kit.act(() => {
        const ctx = kit.ctx();
        const cfg = loadConfig();
        const dflt = serviceName(cfg);
        const rows = [['SERVICE', 'PROVIDER', 'DEFAULT', 'DEFINED IN']];
        for (const [name, s] of Object.entries(cfg.services))
          rows.push([name, s.provider, name === dflt ? 'yes' : '', cfg.sources[name] ?? '']);
        if (!cfg.services.localhost)
          rows.push(['localhost', 'localhost', dflt === 'localhost' ? 'yes' : '', '(built in)']);
        if (ctx.g.json)
          for (const r of rows.slice(1))
            ctx.write(
              `${JSON.stringify({ event: 'service', name: r[0], provider: r[1], default: r[2] === 'yes', source: r[3] })}\n`,
            );
        else ctx.write(table(rows));
        return 0;
      }),
    );
}
