/**
 * Plain data types shared by every layer. No behaviour lives here.
 */

/** A machine a compute service knows about. */
export interface Node {
  /** Stable identifier, unique within its compute service. */
  id: string;
  hostname: string;
  /** The group this node belongs to. */
  groupName: string;
  /**
   * Extra groups the node is a member of (a node may serve several groups: the
   * localhost node serves every group it is asked about).
   */
  groupNames?: string[];
  primaryIp: string;
  privateIp?: string;
  sshPort: number;
  osFamily?: string;
  osVersion?: string;
  packager?: string;
  running: boolean;
  /** Login credentials of the image, used by `bootstrap` on new nodes. */
  imageUser?: { username: string };
  /** Host keys learned by the provider (`type base64`), trusted like known_hosts entries. */
  hostKeys?: string[];
  /** The known_hosts file the service checks this node against (default ~/.ssh/known_hosts). */
  knownHostsPath?: string;
  /** How to reach the node: SSH (default) or this machine's shell. */
  transport?: 'ssh' | 'local';
  /** Name of the compute service that owns the node (for messages). */
  service: string;
  /**
   * How this node is logged in to, over the operation's admin user (an Ansible inventory's `ansible_user`,
   * `ansible_ssh_private_key_file`, `ansible_become`): the user's other settings (passwords, key passphrase) stay.
   */
  adminUser?: NodeAdminUser;
  /** Variables from the node's inventory (an Ansible inventory's host and group vars): `nodeVars()`, templates. */
  vars?: Record<string, unknown>;
}

/** Per-node overrides of the admin user (see `Node.adminUser`). */
export interface NodeAdminUser {
  username?: string;
  privateKeyPath?: string;
  /** Run scripts as the login user, without sudo. */
  noSudo?: boolean;
  /** Run scripts as this user through sudo. */
  sudoUser?: string;
}

/** Image options of a node spec (provider-specific options go in `provider: { <name>: { ... } }`). */
export interface ImageSpec {
  imageId?: string;
  osFamily?: string;
  osVersion?: string;
  loginUser?: string;
  os64Bit?: boolean;
  /** Container command (Docker provider). */
  init?: string | string[];
}

export interface HardwareSpec {
  hardwareId?: string;
  minRam?: number;
  minCores?: number;
  minDisk?: number;
}

export interface NetworkSpec {
  inboundPorts?: Array<number | { startPort: number; endPort: number; protocol?: string }>;
}

export interface QosSpec {
  spotPrice?: number;
  enableMonitoring?: boolean;
}

export interface LocationSpec {
  locationId?: string;
}

/** Everything `nodeSpec` accepts. */
export interface NodeSpecOptions {
  image?: ImageSpec;
  hardware?: HardwareSpec;
  location?: LocationSpec;
  network?: NetworkSpec;
  qos?: QosSpec;
  /** Provider-specific options, keyed by provider name. */
  provider?: Record<string, Record<string, unknown>>;
}

// Results (operation/result.ts re-exports them; OperationResult stays there).

export interface ActionError {
  /** Node id (or group name for group phases). */
  node: string;
  phase: string;
  /** The action's summary, e.g. `remoteFile /etc/motd`. */
  action: string;
  message: string;
  exit?: number;
  /** The error that caused this one (a plan function's exception, a transport's failure). */
  cause?: unknown;
}

export interface ActionResult {
  /** The action's name, e.g. `remoteFile`. */
  action: string;
  /** One line describing the call, e.g. `remoteFile /etc/motd`. */
  summary: string;
  /** Plan-function names the action was called in, outermost first. */
  context: string[];
  /** Where it ran: on the node (a script) or on the controller. */
  location: 'target' | 'origin';
  /** The script that ran (target actions). */
  script?: string;
  exit?: number;
  out: string;
  err: string;
  /** Did the action change the node? */
  changed: boolean;
  flags: string[];
  flagValues: Record<string, string>;
  durationMs: number;
  /** The value of an origin action. */
  value?: unknown;
  error?: ActionError;
  /** Check mode: a real run would change the node here (`changed` is always false in check mode). */
  wouldChange?: boolean;
  /** Check mode: a real run may change the node here; why check mode cannot tell. */
  mayChange?: string;
  /** Check mode: one line per change ("install hello 2.0", "start fail2ban", "mode of /etc/x: 644 -> 600"). */
  would?: string[];
  /** Check mode: unified diffs of the files' content (a sensitive file: "content differs", no diff). */
  diff?: string;
}

export interface PhaseResult {
  /** The node this entry is about (absent for group phases). */
  node?: Node;
  targetType: 'node' | 'group';
  /** The group (for node targets: the node's group). */
  groupName: string;
  phase: string;
  ok: boolean;
  /**
   * Why the target failed (absent when ok): an action failed on the node; the
   * node could not be reached (or is stopped); its plan function threw.
   */
  reason?: 'failed' | 'unreachable' | 'plan-error';
  actions: ActionResult[];
  durationMs: number;
}
