/**
 * apt sources: each source is the whole file `/etc/apt/sources.list.d/<name>.list`
 * (content compared, replaced atomically) with its own keyring under
 * `/etc/apt/keyrings` (`signed-by`): a key given inline, fetched from a URL on
 * every run (a rotated key is applied), or fetched by id with gpg from a key
 * server when the keyring lacks it. Never `apt-key`. A `ppa:` URL without a
 * key is added by `add-apt-repository`, checked by the file it names after the PPA.
 */
import { shQuote } from '../../../script/quote.js';
import { installStaged, resolveTarget, stageBeside } from '../../../script/fs.js';
import { makeDir, type CheckMode } from '../../../script/check.js';
import { block, fileWithContent, onChanged, packageSourceChangedFlag } from '../common.js';
import { section, type AptSource, type SourceScript } from './types.js';

const changed = onChanged(packageSourceChangedFlag);

/** The keyring file of a source, and the shell that makes it current (empty when the source has no key). */
function keyring(name: string, a: AptSource, c: CheckMode): { path?: string; script: string } {
  const keyrings = makeDir(c, '/etc/apt/keyrings');
  if (a.key) {
    const path = `/etc/apt/keyrings/${name}.asc`;
    return { path, script: [keyrings, block(fileWithContent(path, a.key, packageSourceChangedFlag, c))].join('\n') };
  }
  if (a.keyUrl) {
    const path = `/etc/apt/keyrings/${name}.asc`;
    const u = shQuote(a.keyUrl);
    return {
      path,
      script: [
        keyrings,
        resolveTarget(path, `packageSource ${name}`),
        stageBeside('exit 1', c),
        `if command -v curl >/dev/null; then curl -fsSL -o "$pallet_t" ${u}; else wget -q -O "$pallet_t" ${u}; fi || { rm -f "$pallet_t"; echo ${shQuote(`packageSource ${name}: could not fetch the key from ${a.keyUrl}`)} >&2; exit 1; }`,
        `[ -s "$pallet_t" ] || { rm -f "$pallet_t"; echo ${shQuote(`packageSource ${name}: the key at ${a.keyUrl} is empty`)} >&2; exit 1; }`,
        installStaged('"$pallet_p"', changed, { mode: '644' }, c),
      ].join('\n'),
    };
  }
  if (a.keyId) {
    const path = `/etc/apt/keyrings/${name}.gpg`;
    const k = shQuote(path);
    const id = shQuote(a.keyId);
    const server = shQuote(a.keyServer ?? 'hkps://keyserver.ubuntu.com');
    return {
      path,
      script: [
        keyrings,
        `if ! { [ -s ${k} ] && gpg --batch --show-keys --with-colons ${k} 2>/dev/null | grep -qi "^fpr:.*"${id}":$"; }; then`,
        ...(c?.check
          ? [`  pallet_would ${shQuote(`fetch key ${a.keyId} into ${path}`)}`]
          : [
              '  command -v gpg >/dev/null || { echo "packageSource: keyId needs gpg on the node (pkg gnupg)" >&2; exit 1; }',
              '  pallet_g=$(mktemp -d) || exit 1',
              `  gpg --batch --quiet --homedir "$pallet_g" --keyserver ${server} --recv-keys ${id} && gpg --batch --homedir "$pallet_g" --export ${id} > "$pallet_g/k" && [ -s "$pallet_g/k" ] || { rm -rf "$pallet_g"; echo ${shQuote(`packageSource ${name}: could not fetch key ${a.keyId}`)} >&2; exit 1; }`,
              `  chmod 644 "$pallet_g/k" && mv -f "$pallet_g/k" ${k} || { rm -rf "$pallet_g"; exit 1; }`,
              '  rm -rf "$pallet_g"',
            ]),
        `  ${changed}`,
        'fi',
      ].join('\n'),
    };
  }
  return { script: '' };
}

/** The codename of the node's release, in "$pallet_codename". */
function codename(name: string): string {
  return [
    `pallet_codename=$( . /etc/os-release 2>/dev/null; echo "\${VERSION_CODENAME:-}")`,
    '[ -n "$pallet_codename" ] || pallet_codename=$(lsb_release -c -s 2>/dev/null)',
    `[ -n "$pallet_codename" ] || { echo ${shQuote(`packageSource ${name}: cannot tell the release codename; give apt.release`)} >&2; exit 1; }`,
  ].join('\n');
}

export const aptSource: SourceScript = (name, opts, ctx) => {
  const a = section(name, opts, 'apt', ctx.packager);
  const ppa = /^ppa:([A-Za-z0-9._-]+)\/([A-Za-z0-9._-]+)$/.exec(a.url);
  if (a.url.startsWith('ppa:') && !ppa) throw new Error(`packageSource '${name}': '${a.url}' is not ppa:user/name`);
  const key = keyring(name, a, ctx);
  if (ppa && !key.path) {
    // add-apt-repository names the file after the PPA (user-ubuntu-name-codename.list, or .sources).
    const pattern = `/etc/apt/sources.list.d/${ppa[1]}-ubuntu-${ppa[2]}-*`;
    return [
      `if ! ls ${pattern} >/dev/null 2>&1; then`,
      ...(ctx.check
        ? [`  pallet_would ${shQuote(`add ${a.url} (add-apt-repository)`)}; ${changed}`]
        : [
            `  command -v add-apt-repository >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get -q -y install software-properties-common </dev/null || exit 1; }`,
            `  add-apt-repository -y ${shQuote(a.url)} </dev/null || exit 1; ${changed}`,
          ]),
      'fi',
    ].join('\n');
  }
  const url = ppa ? `https://ppa.launchpadcontent.net/${ppa[1]}/${ppa[2]}/ubuntu` : a.url;
  const signed = key.path ? ` [signed-by=${key.path}]` : '';
  const release = (a.release ?? '{codename}').split('{codename}').join('__PALLET_CODENAME__');
  // A flat repository (release './', scopes []) has no components: nothing after the release.
  const line = [`${a.sourceType ?? 'deb'}${signed}`, url, release, ...(a.scopes ?? ['main'])].join(' ');
  const file = `/etc/apt/sources.list.d/${name}.list`;
  const parts = key.script ? [key.script] : [];
  if (!release.includes('__PALLET_CODENAME__'))
    parts.push(block(fileWithContent(file, `${line}\n`, packageSourceChangedFlag, ctx)));
  else {
    // The node's codename is known only on the node.
    parts.push(
      codename(name),
      resolveTarget(file, `packageSource ${name}`),
      stageBeside('exit 1', ctx),
      `printf '%s\\n' ${shQuote(line)} | sed "s/__PALLET_CODENAME__/$pallet_codename/" > "$pallet_t" || exit 1`,
      installStaged('"$pallet_p"', changed, { mode: '644' }, ctx),
    );
  }
  return parts.join('\n');
};
