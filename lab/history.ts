// Months of log history for kasm_api and kasm_proxy, written in seconds: a block of real-looking lines is built once
// and written again and again, only its docker timestamps changed, each block a little later than the one before.
// The history ends an hour before the lab starts, so every window the suite reads lies after it.
import { closeSync, openSync, writeSync } from 'node:fs';
import { cherrypyAccessLine, kasmApiLine, nginxAccessLine } from './logs.ts';
import { dockerTimestamp } from './state.ts';

const BLOCK_BYTES = 1024 * 1024;
/** How many blocks go to the disk in one write. */
const BATCH = 8;
const SPAN_MS = 30 * 24 * 3_600_000;
const GAP_MS = 3_600_000;
const STAMP_WIDTH = dockerTimestamp(new Date(0)).length;

const AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36';
const record = (uri: string, status: number, bytes: number) => ({ remoteAddr: '172.18.0.9', method: uri.startsWith('/api/') ? 'POST' : 'GET', uri, protocol: 'HTTP/1.1', status, bytes, referer: 'https://kasm.example.com/', userAgent: AGENT });

/** One line of an old day's traffic, by container: what a busy deployment writes most. */
function historyLine(container: 'kasm_api' | 'kasm_proxy', n: number, at: Date): string {
  const id = (n * 2_654_435_761) % 0xffffffff;
  const kasm = id.toString(16).padStart(8, '0');
  if (container === 'kasm_api') {
    switch (n % 4) {
      case 0:
        return cherrypyAccessLine(record('/api/get_user_kasms', 200, 812), at);
      case 1:
        return cherrypyAccessLine(record(`/api/kasm_connect/?kasm_id=${kasm}`, 202, 0), at);
      case 2:
        return kasmApiLine('INFO', 'client_api_server', `Session ${kasm}-0000-4000-8000-000000000000 keepalive`, at);
      default:
        return cherrypyAccessLine(record('/api/internal_auth/', 202, 0), at);
    }
  }
  return nginxAccessLine({ ...record(n % 3 === 0 ? `/desktop/${kasm}/vnc/websockify` : '/api/__healthcheck', n % 3 === 0 ? 101 : 200, 4_096 + (n % 997)), forwardedFor: '203.0.113.7' }, at);
}

/** A block of whole lines, each `<stamp> <text>\n`, and where each line's stamp starts. */
function template(container: 'kasm_api' | 'kasm_proxy', at: Date): { block: Buffer; stamps: number[] } {
  const parts: string[] = [];
  const stamps: number[] = [];
  let length = 0;
  for (let n = 0; ; n++) {
    const line = `${dockerTimestamp(at)} ${historyLine(container, n, at)}\n`;
    if (length + Buffer.byteLength(line) > BLOCK_BYTES) break;
    stamps.push(length);
    parts.push(line);
    length += Buffer.byteLength(line);
  }
  return { block: Buffer.from(parts.join('')), stamps };
}

/**
 * Writes about `bytes` of history to a container's log file (which must be empty): the lines are the container's
 * own kinds, the docker timestamps grow block by block over the 30 days before `until` minus an hour.
 */
export function writeHistory(file: string, container: 'kasm_api' | 'kasm_proxy', bytes: number, until = new Date()): void {
  const end = until.getTime() - GAP_MS;
  const { block, stamps } = template(container, new Date(end - SPAN_MS));
  const blocks = Math.max(1, Math.round(bytes / block.length));
  const step = SPAN_MS / blocks;
  const batch = Buffer.allocUnsafe(block.length * Math.min(BATCH, blocks));
  const fd = openSync(file, 'a');
  try {
    for (let first = 0; first < blocks; first += BATCH) {
      const count = Math.min(BATCH, blocks - first);
      for (let i = 0; i < count; i++) {
        const offset = i * block.length;
        block.copy(batch, offset);
        const stamp = dockerTimestamp(new Date(end - SPAN_MS + (first + i) * step));
        for (const at of stamps) batch.write(stamp, offset + at, STAMP_WIDTH, 'latin1');
      }
      writeSync(fd, batch, 0, count * block.length);
    }
  } finally {
    closeSync(fd);
  }
}
