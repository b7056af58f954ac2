// Harden Debian nodes: an admin user with sudo, sudoers and sshd_config line edits validated by
// visudo and sshd, and an sshd reload handler (see harden.ts).
//
//   pallet --project examples/harden/pallet.config.ts -P lab lift --check   # what would change, with diffs
//   pallet --project examples/harden/pallet.config.ts -P lab lift           # do it
//
// `lab` is a node-list service with the nodes of group `hardened` (pallet add-service, or ~/.pallet/config.yaml).
// HARDEN_ADMIN names the admin user (default deploy); HARDEN_ADMIN_KEY is a file of its public keys;
// HARDEN_ROOT_LOGIN=no turns root logins off entirely.
import { readFileSync } from 'node:fs';
import { defineProject, groupSpec } from 'pallet';
import { hardenedServer } from './harden.js';

const keyFile = process.env.HARDEN_ADMIN_KEY;
const adminKeys = keyFile
  ? readFileSync(keyFile, 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'))
  : [];

const hardened = groupSpec('hardened', {
  extends: [
    hardenedServer({
      admin: process.env.HARDEN_ADMIN ?? 'deploy',
      adminKeys,
      ...(process.env.HARDEN_ROOT_LOGIN === 'no' ? { rootLogin: 'no' as const } : {}),
    }),
  ],
});

export default defineProject({ groups: [hardened] });
