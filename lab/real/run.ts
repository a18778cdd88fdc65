// Runs the machine's own programs (ip, nft, docker, ssh-keygen) for the real-parts lab: arguments as a list, never a
// shell line, each with a time limit, and a failure that names the command and what it printed.
import { execFile } from 'node:child_process';

export class RealLabError extends Error {
  readonly code = 'LAB_REAL';
}

export interface RunOptions {
  timeoutMs?: number;
  input?: string;
  env?: NodeJS.ProcessEnv;
  /** Exit codes that are an answer rather than a failure (`ip netns pids` of a gone namespace, say). */
  okCodes?: number[];
}

export interface Ran {
  stdout: string;
  stderr: string;
  code: number;
}

export function run(program: string, args: readonly string[], options: RunOptions = {}): Promise<Ran> {
  const timeout = options.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const child = execFile(program, args, { timeout, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024, env: options.env ?? process.env, encoding: 'utf8' }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      if (!error || options.okCodes?.includes(code)) return resolve({ stdout, stderr, code });
      const why = error.killed ? `timed out after ${timeout} ms` : `exit ${String(error.code ?? error.signal)}`;
      const said = `${stderr}${stdout}`.trim().split('\n').slice(-6).join(' | ');
      reject(new RealLabError(`${program} ${args.join(' ')}: ${why}${said ? `: ${said}` : ''}`, { cause: error }));
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}
