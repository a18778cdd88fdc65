// What every program of ours inside a real-parts lab container shares: its log is its stdout (Docker's json-file log
// keeps it, `docker logs` reads it back), its settings are a JSON file the lab mounts at /etc/kasm, and the lab's
// active faults are a JSON list in the same folder, read when asked so a change applies to the next request.
import { readFileSync, statSync } from 'node:fs';
import type { FaultName, FaultSet } from '../../faults.ts';
import type { LogSink } from '../../state.ts';

export const stdoutLog: LogSink = { write: (line) => void process.stdout.write(`${line}\n`) };

export function readSettings<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

export class FileFaults implements FaultSet {
  #mtime = -1;
  #active = new Set<string>();

  constructor(private readonly file: string) {}

  get active(): ReadonlySet<string> {
    let mtime = 0;
    try {
      mtime = statSync(this.file).mtimeMs;
    } catch {
      this.#active = new Set();
      return this.#active;
    }
    if (mtime !== this.#mtime) {
      this.#mtime = mtime;
      try {
        this.#active = new Set(JSON.parse(readFileSync(this.file, 'utf8')) as string[]);
      } catch {
        // Half-written: the previous set stands until the next read.
      }
    }
    return this.#active;
  }

  has(name: FaultName): boolean {
    return this.active.has(name);
  }
}

/** Ends the program on `docker stop` (SIGTERM) after `close`, as a service that shuts down cleanly does. */
export function onStop(close: () => Promise<void> | void): void {
  const stop = () => void Promise.resolve(close()).finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
