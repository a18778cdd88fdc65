// network-blip on real nginx: the load balancer closes one connection to the health path without an answer (nginx's
// `return 444`, what a device failing over does to the connection it was holding), then passes everything again.
// nginx keeps no count, so the config answers 444 while a marker file exists, and this watcher removes the marker
// as soon as nginx's access log shows the 444: one request is cut, the retry passes.
import { closeSync, existsSync, openSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';

const CUT = /"GET \/api\/__healthcheck[^"]*" 444 /;
const POLL_MS = 10;

export interface Blip {
  /** Arms one cut (the fault switched on); a no-op while one is armed. */
  arm(): void;
  /** Disarms without a cut (the fault switched off, or the lab stopping). */
  disarm(): void;
  readonly armed: boolean;
}

export function blipWatcher(marker: string, accessLog: string): Blip {
  let timer: NodeJS.Timeout | undefined;
  const disarm = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
    rmSync(marker, { force: true });
  };
  const arm = () => {
    if (timer) return;
    let offset = existsSync(accessLog) ? statSync(accessLog).size : 0;
    let carry = '';
    writeFileSync(marker, 'network-blip: the next request to /api/__healthcheck gets no answer\n', { mode: 0o644 });
    timer = setInterval(() => {
      if (!existsSync(accessLog)) return;
      const fd = openSync(accessLog, 'r');
      try {
        const buffer = Buffer.alloc(64 * 1024);
        for (;;) {
          const read = readSync(fd, buffer, 0, buffer.length, offset);
          if (read <= 0) break;
          offset += read;
          const lines = (carry + buffer.subarray(0, read).toString('latin1')).split('\n');
          carry = lines.pop() ?? '';
          if (lines.some((line) => CUT.test(line))) return disarm();
        }
      } finally {
        closeSync(fd);
      }
    }, POLL_MS);
    timer.unref();
  };
  return {
    arm,
    disarm,
    get armed() {
      return timer !== undefined;
    },
  };
}
