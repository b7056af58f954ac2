import { defineProject, groupSpec } from 'pallet';
export default defineProject({ groups: [groupSpec('bench', { phases: { configure: () => {} } })] });
