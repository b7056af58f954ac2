/**
 * A transport runs a shell script on one node. Implementations: local
 * (child_process) and SSH. One transport is opened per node per operation and
 * reused by every phase.
 */
export interface RunOptions {
  /** Called with stdout chunks as they arrive (for streaming results); `RunResult.stdout` is then empty. */
  onStdout?: (chunk: Buffer) => void;
  /**
   * On abort the script is sent SIGINT (a batch then lets its running action end
   * and starts no other) and cut after `graceMs` (default 10 s).
   */
  signal?: AbortSignal;
  graceMs?: number;
  /** Kill the script after this many milliseconds. */
  timeoutMs?: number;
}

export interface RunResult {
  exit: number;
  stdout: Buffer;
  stderr: Buffer;
}

export interface Transport {
  /** A short description for messages, e.g. `local` or `ssh admin@127.0.0.1:2222`. */
  readonly description: string;
  /**
   * Run `script` with a POSIX shell on the node (with the privilege the
   * transport was opened with: sudo for the admin user, etc.).
   */
  run(script: string, opts?: RunOptions): Promise<RunResult>;
  /**
   * A private directory on the node where uploaded files are kept under the
   * name of their md5 (content-addressed), so an upload whose content is
   * already there is skipped.
   */
  readonly uploadDir?: string;
  /** Make `${uploadDir}/${md5}` hold the content of the local file; false when it was already there. */
  upload?(localPath: string, md5: string): Promise<{ uploaded: boolean }>;
  close(): Promise<void>;
}
