// geerlingguy.nginx (its Debian path), ported to pallet: the role's own Jinja templates, defaults and Debian
// variables, read as they are; the team's Ansible inventory (inventory.ini or inventory.yml), used as it is.
//
//   P="-P ansible:examples/from-ansible/inventory.ini --project examples/from-ansible/pallet.config.ts"
//   pallet $P facts                            # what each node's facts() and the templates see
//   pallet $P explain --facts-from web1        # every script and file, nginx.conf included, with web1's facts
//   pallet $P lift --check --diff              # what would change (exit 3), nothing changed
//   pallet $P lift                             # do it: one probe and one round trip per node
//
// The role's tasks, one by one: install nginx; write each vhost of `nginx_vhosts`; remove the default vhost when
// `nginx_remove_default_vhost`; write nginx.conf (worker_processes from the node's CPU count, as the role's
// default `{{ ansible_processor_vcpus | default(ansible_processor_count) }}` says); start nginx; reload it once,
// at the end, only when a file changed (the role's handler). Every file is checked by `nginx -t` before it
// replaces the old one.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import {
  defineProject,
  file,
  groupSpec,
  handler,
  nodeVars,
  pkg,
  remoteFile,
  service,
  type TemplateValue,
} from 'pallet';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
/** The role's defaults: the weakest variables (the inventory and facts win over them). */
const defaults = parse(readFileSync(here('nginx/defaults.yml'), 'utf8')) as Record<string, TemplateValue>;
/** The role's vars/Debian.yml, and the set_fact its tasks run: stronger than the inventory, as in Ansible. */
const debian = parse(readFileSync(here('nginx/vars-Debian.yml'), 'utf8')) as Record<string, string>;
const roleVars: Record<string, string> = { ...debian, nginx_user: debian.__nginx_user! };

/** An entry of the role's `nginx_vhosts` (the template reads the rest). */
type Vhost = { server_name: string; filename?: string; state?: 'absent' } & { [key: string]: TemplateValue };

export const web = groupSpec('web', {
  phases: {
    configure: () => {
      // What the plan decides in TypeScript reads the same variables the templates do.
      const v: Record<string, unknown> = { ...defaults, ...nodeVars(), ...roleVars };
      const reload = handler('nginx-reload', () => void service('nginx', { action: 'reload' }));
      const jinja = { defaults, values: roleVars, flagOnChanged: reload };
      pkg(String(v.nginx_package_name));
      for (const item of (v.nginx_vhosts ?? []) as Vhost[]) {
        const path = `${roleVars.nginx_vhost_path!}/${item.filename ?? `${item.server_name.split(' ')[0]}.conf`}`;
        if (item.state === 'absent') file(path, { action: 'delete', flagOnChanged: reload });
        else
          remoteFile(path, {
            ...jinja,
            template: here('nginx/templates/vhost.j2'),
            values: { ...roleVars, item },
            mode: '0644',
          });
      }
      if (v.nginx_remove_default_vhost === true)
        file(roleVars.nginx_default_vhost_path!, { action: 'delete', flagOnChanged: reload });
      remoteFile(roleVars.nginx_conf_file_path!, {
        ...jinja,
        template: here('nginx/templates/nginx.conf.j2'),
        mode: '0644',
        verify: 'nginx -t -q -c',
      });
      service('nginx', { action: 'start' });
    },
  },
});

export default defineProject({ groups: [web] });
