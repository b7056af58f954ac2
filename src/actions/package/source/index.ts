/**
 * `packageSource`: add a package repository, dispatched on the node's package
 * manager like `packageManager`. Each source is managed as a whole (a file, or
 * its own entry or section), compared with what the node has, and replaced only
 * when it differs: a changed URL, release or key is applied, an unchanged one
 * is not a change. Sets the flag `packagesourcechanged` when it changed; follow
 * it with `planWhen(targetFlag(packageSourceChangedFlag), () => packageManager('update'))`.
 */
import * as z from 'zod';
import { defineAction } from '../../../plan/action.js';
import { dispatch, type Implementation } from '../../../script/dispatch.js';
import { validate } from '../../../core/validate.js';
import { block } from '../common.js';
import { apkSource } from './apk.js';
import { aptSource } from './apt.js';
import { brewSource } from './brew.js';
import { pacmanSource } from './pacman.js';
import { rpmSource } from './rpm.js';
import type { PackageSourceOptions, SourceScript } from './types.js';

export type { AptSource, PackageSourceOptions, YumSource } from './types.js';

interface SourceArgs {
  name: string;
  opts: PackageSourceOptions;
}

const impls: ReadonlyArray<Implementation<SourceScript>> = [
  { when: { packager: ['apt', 'aptitude'] }, impl: aptSource },
  { when: { packager: ['yum', 'dnf', 'zypper'] }, impl: rpmSource },
  { when: { packager: 'apk' }, impl: apkSource },
  { when: { packager: 'pacman' }, impl: pacmanSource },
  { when: { packager: 'brew' }, impl: brewSource },
];

const word = /^[A-Za-z0-9._/-]+$/;
const noSpace = z.string().regex(/^\S+$/, 'no spaces');

const schema = z.strictObject({
  apt: z
    .strictObject({
      url: noSpace,
      scopes: z.array(z.string().regex(word)).optional(),
      release: z
        .string()
        .regex(/^([A-Za-z0-9._/-]|\{codename\})+$/, 'a release name, may hold {codename}')
        .optional(),
      sourceType: z.enum(['deb', 'deb-src']).optional(),
      key: z.string().optional(),
      keyUrl: noSpace.optional(),
      keyId: z
        .string()
        .regex(/^(0x)?[0-9A-Fa-f]{16,40}$/, 'a key fingerprint or long id (hex)')
        .transform((s) => s.replace(/^0x/, '').toUpperCase())
        .optional(),
      keyServer: z
        .string()
        .regex(/^(hkps?|hkp|ldap):\/\/[A-Za-z0-9.:[\]-]+\/?$/, 'a key server URL such as hkps://keyserver.ubuntu.com')
        .optional(),
    })
    .refine(
      (a) => [a.key, a.keyUrl, a.keyId].filter((x) => x !== undefined).length <= 1,
      'give at most one of key, keyUrl, keyId',
    )
    .optional(),
  yum: z
    .strictObject({
      url: noSpace.optional(),
      mirrorlist: noSpace.optional(),
      gpgkey: noSpace.optional(),
      priority: z.number().int().optional(),
      enabled: z.boolean().optional(),
    })
    .optional(),
  apk: z.strictObject({ url: noSpace }).optional(),
  pacman: z
    .strictObject({
      url: noSpace,
      sigLevel: z
        .string()
        .regex(/^[A-Za-z ]+$/)
        .optional(),
    })
    .optional(),
  brew: z
    .strictObject({ tap: z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/), url: noSpace.optional() })
    .optional(),
});

/**
 * A package source (an apt list with its own keyring, a yum/dnf repo file, an apk repository, a pacman
 * repository, a brew tap) for the node's package manager. When it changes, it sets the flag
 * `packageSourceChangedFlag`, so a following `packageManager('update')` can run only then.
 *
 * @example
 * ```ts
 * packageSource('backports', { apt: { url: 'http://deb.debian.org/debian', release: 'bookworm-backports' } });
 * ```
 */
export const packageSource = defineAction<[name: string, opts: PackageSourceOptions], SourceArgs>({
  name: 'packageSource',
  execution: 'aggregated',
  optionsParam: 1,
  alwaysBefore: ['packageManager', 'pkg'],
  parse: (name, opts) => ({
    name: validate(
      z.string().regex(/^[A-Za-z0-9._-]+$/, 'source names are letters, digits, . _ -'),
      name,
      'packageSource',
    ),
    opts: validate(schema, opts, `packageSource '${name}'`) as PackageSourceOptions,
  }),
  summary: (args) => `packageSource ${args.map((a) => a.name).join(' ')}`,
  script: (args, ctx) => {
    const impl = dispatch('packageSource', impls, { ...(ctx.packager ? { packager: ctx.packager } : {}) });
    return { script: args.map((a) => block(impl(a.name, a.opts, ctx))).join('\n'), changes: 'reported', checked: true };
  },
});
