/**
 * What a plan function can read about its target and the operation's other targets: the node, its
 * group, OS, admin user, the nodes in a group or with a role; `onOneNode` to act on one of them.
 */

import type { Target } from '../model/specs.js';
import type { Node } from '../core/types.js';
import type { User } from '../core/user.js';
import { currentSession } from './session.js';

/** The current target: its node and merged group spec. */
export function target(): Target {
  return currentSession('target').target;
}
export function targetNode(): Node {
  return currentSession('targetNode').target.node;
}
export function targetName(): string {
  return currentSession('targetName').target.node.hostname;
}
export function targetId(): string {
  return currentSession('targetId').target.node.id;
}
export function targetIp(): string {
  return currentSession('targetIp').target.node.primaryIp;
}
export function groupName(): string {
  return currentSession('groupName').target.spec.groupName;
}
export function osFamily(): string | undefined {
  return currentSession('osFamily').os.osFamily;
}
export function osVersion(): string | undefined {
  return currentSession('osVersion').os.osVersion;
}
export function packager(): string | undefined {
  return currentSession('packager').os.packager;
}
/** The admin user (not the login user of bootstrap). */
export function adminUser(): User {
  return currentSession('adminUser').user;
}
/** Every target of the operation. */
export function targets(): ReadonlyArray<Target> {
  return currentSession('targets').targets;
}
function inGroup(t: Target, g: string): boolean {
  return t.spec.groupName === g || t.groupNames.includes(g);
}
/** Targets in group `g` (default: the current target's group). */
export function targetsInGroup(g?: string): Target[] {
  const s = currentSession('targetsInGroup');
  const name = g ?? s.target.spec.groupName;
  return s.targets.filter((t) => inGroup(t, name));
}
export function nodesInGroup(g?: string): Node[] {
  return targetsInGroup(g).map((t) => t.node);
}
export function targetsWithRole(role: string): Target[] {
  return currentSession('targetsWithRole').targets.filter((t) => t.spec.roles.includes(role));
}
export function nodesWithRole(role: string): Node[] {
  return targetsWithRole(role).map((t) => t.node);
}

/**
 * Run `body` on one node only: the first (by id) of the nodes that have every
 * one of `roles`.
 */
export function onOneNode<T>(roles: string | string[], body: () => T): T | undefined {
  const s = currentSession('onOneNode');
  const list = typeof roles === 'string' ? [roles] : roles;
  const candidates = s.targets
    .filter((t) => list.every((r) => t.spec.roles.includes(r)))
    .map((t) => t.node.id)
    .sort();
  if (candidates[0] === s.target.node.id) return body();
  return undefined;
}
