/**
 * `pallet/report`: the renderers the `pallet` command uses for operation events (JSON lines, plain lines, the
 * live terminal view) and summaries, for tools that run operations and show them their own way.
 */
export {
  jsonRenderer,
  lineRenderer,
  liveRenderer,
  summaryText,
  summarise,
  redactor,
  type NodeSummary,
  type Redactor,
} from '../report/render.js';
