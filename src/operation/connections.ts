/**
 * The connection pool of an operation: one transport per node and login user,
 * opened when first needed and reused by every phase.
 */
import type { ComputeService } from '../compute/types.js';
import type { ConnectOverrides } from '../compute/connect.js';
import type { Target } from '../model/specs.js';
import type { Transport } from '../transport/types.js';
import { imageCredentials, withNodeAdmin, type User } from '../core/user.js';

export class Connections {
  private readonly open = new Map<string, Promise<Transport>>();

  constructor(
    private readonly compute: ComputeService | undefined,
    readonly user: User,
    private readonly overrides: ConnectOverrides | undefined,
  ) {}

  /** The admin user on this node: the operation's, with the node's own login settings over it (an inventory's `ansible_user`). */
  adminFor(t: Target): User {
    return t.node.adminUser ? withNodeAdmin(this.user, t.node.adminUser) : this.user;
  }

  /** The admin user, or the image's login user (with the admin user's key material only) for bootstrap. */
  credentialsFor(t: Target, useImage: boolean): User {
    if (!useImage || !t.node.imageUser) return this.adminFor(t);
    return imageCredentials(this.user, t.node.imageUser);
  }

  transportFor(t: Target, user: User): Promise<Transport> {
    const key = `${t.node.id}\0${user.username}`;
    let tr = this.open.get(key);
    if (!tr) {
      tr = this.compute
        ? this.compute.connect(t.node, user, this.overrides)
        : Promise.reject(new Error('no compute service to connect with'));
      tr.catch(() => {});
      this.open.set(key, tr);
    }
    return tr;
  }

  /** Forget a failed connection, so that a later step may try again. */
  forget(t: Target, user: User): void {
    this.open.delete(`${t.node.id}\0${user.username}`);
  }

  async close(): Promise<void> {
    await Promise.all(
      [...this.open.values()].map(async (p) => {
        try {
          await (await p).close();
        } catch {
          /* already failed */
        }
      }),
    );
  }
}
