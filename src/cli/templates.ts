/** The files `pallet config` and `pallet init` write. */
export const CONFIG_TEMPLATE = `# Pallet user configuration. Secrets can come from the environment (…Env keys).
# defaultService: lab
# adminUser:
#   username: admin
#   privateKeyPath: ~/.ssh/id_ed25519
#   passphraseEnv: PALLET_KEY_PASSPHRASE
#   sudoPasswordEnv: PALLET_SUDO_PASSWORD
# environment:
#   app: { port: 8080 }
services:
  local:
    provider: localhost
#  lab:
#    provider: node-list
#    nodes:
#      - { name: web1, group: web, ip: 192.0.2.10, osFamily: debian }
#    ssh: { hostKeyPolicy: strict }
#  ansible:
#    provider: node-list
#    inventory: ./hosts.ini      # an Ansible inventory (INI or YAML), relative to this file; or: pallet -P ansible:PATH
#  containers:
#    provider: docker
#    socketPath: /run/podman/podman.sock
`;

export const PROJECT_TEMPLATE = `// The pallet project file: the groups of servers this project manages.
// Run \`pallet explain\` to see the scripts, \`pallet up\` to create and configure nodes.
//
// By default pallet runs on this machine (the localhost service), so this starter
// only writes files under ./site next to this file: harmless wherever it runs.
import { directory, defineProject, groupSpec, nodeSpec, planFn, remoteFile } from 'pallet';
// For a real web server, on Docker nodes (\`pallet -P docker up\`), use pkg and service:
// import { pkg, service } from 'pallet';

const site = new URL('./site/', import.meta.url).pathname;

const web = groupSpec('web', {
  count: 1,
  phases: {
    // configure is the default phase of lift and up.
    configure: planFn('web', () => {
      directory(site);
      remoteFile(\`\${site}index.html\`, { content: '<h1>Hello from pallet</h1>\\n', mode: '0644' });
      // On a Docker node instead:
      // pkg('nginx');
      // remoteFile('/var/www/html/index.html', { content: '<h1>Hello from pallet</h1>\\n', mode: '0644' });
      // service('nginx', { action: 'start' });
    }),
  },
});

export default defineProject({
  groups: [web],
  // Per-provider node specs: the image docker nodes are created from.
  providers: {
    docker: { nodeSpec: nodeSpec({ image: { imageId: 'localhost/pallet-debian:12', osFamily: 'debian', osVersion: '12' } }) },
  },
});
`;
