/**
 * One run of the command line: the global options, and what commands derive
 * from them (compute service, project, groups, admin user, redactor). Each run
 * has its own context; nothing is kept between runs.
 */
import { existsSync } from 'node:fs';
import { computeService } from '../compute/index.js';
import type { ComputeService } from '../compute/types.js';
import { configuredAdminUser } from '../config/config.js';
import { findProjectFile, loadProject, projectGroups, type Project } from '../project/load.js';
import { redactor, type Redactor } from '../report/render.js';
import type { GroupSpec } from '../model/specs.js';
import { defaultAdminUser, type User } from '../core/user.js';
import { projectId, UsageError, type GlobalOpts, type SelectOpts } from './common.js';

export class CliContext {
  constructor(
    readonly g: GlobalOpts,
    readonly out: NodeJS.WriteStream = process.stdout,
  ) {}

  /** Output goes to a terminal (and is not JSON). */
  get tty(): boolean {
    return Boolean(this.out.isTTY) && !this.g.json;
  }

  get color(): boolean {
    return this.g.color !== false && this.tty && !process.env.NO_COLOR;
  }

  write(s: string): void {
    this.out.write(s);
  }

  /** A line on stderr, prefixed with `pallet: ` (never in JSON mode's stdout). */
  note(s: string): void {
    process.stderr.write(`pallet: ${s}\n`);
  }

  service(): ComputeService {
    // Docker nodes are labelled with the project that owns them (unless PALLET_PROJECT says otherwise).
    const file = this.g.project ?? findProjectFile(process.cwd());
    if (file && !process.env.PALLET_PROJECT) process.env.PALLET_PROJECT = projectId(file);
    const service = this.g.service ? computeService(this.g.service) : computeService();
    // What the service's configuration holds that it does not use (an inventory's unsupported keys), said once.
    for (const n of service.notices ?? []) {
      if (!this.noticed.has(n)) this.note(n);
      this.noticed.add(n);
    }
    return service;
  }

  private readonly noticed = new Set<string>();

  /** The admin user: from the user configuration (only the CLI reads it), else the default. */
  adminUser(): User {
    return configuredAdminUser() ?? defaultAdminUser();
  }

  redact(): Redactor {
    let user;
    try {
      user = this.adminUser();
    } catch {
      user = defaultAdminUser();
    }
    return redactor([user.password, user.sudoPassword, user.passphrase, user.privateKey]);
  }

  async project(): Promise<Project> {
    const file = this.g.project ?? findProjectFile(process.cwd());
    if (!file || !existsSync(file)) {
      throw new UsageError(
        `no project file: ${this.g.project ?? 'pallet.config.ts'} not found in ${process.cwd()}. Run 'pallet init' to create one.`,
      );
    }
    return loadProject(file);
  }

  async groups(
    o: SelectOpts,
    compute: ComputeService,
    names?: string[],
  ): Promise<{ project: Project; groups: GroupSpec[] }> {
    const project = await this.project();
    const groups = projectGroups(project, {
      provider: compute.provider,
      ...(o.selector ? { selectors: o.selector } : {}),
      ...(names?.length || o.group ? { groups: [...(names ?? []), ...(o.group ?? [])] } : {}),
      ...(o.role ? { roles: o.role } : {}),
    });
    if (groups.length === 0) throw new UsageError('no group matches the given --group, --role and --selector');
    return { project, groups };
  }
}
