// docker logs over the lab's log files ("<RFC3339Nano> <text>" a line), costing what docker's do. Docker decodes a
// json-file log from its first line to find --since (docker/for-linux#972), so --since alone reads everything before
// the window here too; --tail reads backwards from the end, and with --tail, --since only filters what the tail
// returned. Output is written chunk by chunk as the reader takes it, so a gigabyte log never sits in memory.
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { write } from './context.ts';

const NEWLINE = 0x0a;
const SPACE = 0x20;
const WINDOW = 4096;
/** How much of the log a --since scan reads at once. */
const SCAN_CHUNK = 1024 * 1024;
/** The longest stamp: `2024-11-18T12:00:00.123456789+00:00`. */
const MAX_STAMP = 35;

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?)?(Z|z|[+-]\d{2}:\d{2})?$/;

export class TimeValueError extends Error {
  readonly code = 'LAB_TIME_VALUE';
}

function outOfRange(month: number, day: number, hour: number, minute: number, second: number): string | undefined {
  if (month < 1 || month > 12) return 'month out of range';
  if (day < 1 || day > 31) return 'day out of range';
  if (hour > 23) return 'hour out of range';
  if (minute > 59) return 'minute out of range';
  if (second > 59) return 'second out of range';
  return undefined;
}

/** Nanoseconds since the epoch of an RFC 3339 time (or why it is not one); without an offset it is local time, as docker reads it. */
function parseRfc3339(value: string): { nanos: bigint } | { error: string } {
  const m = RFC3339.exec(value);
  if (!m) return { error: `cannot parse "${value}" as "2006-01-02T15:04:05Z07:00"` };
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((part) => Number(part ?? 0)) as [number, number, number, number, number, number];
  const error = outOfRange(month, day, hour, minute, second);
  if (error) return { error };
  const zone = m[8];
  let ms: number;
  if (zone === undefined) {
    ms = new Date(year, month - 1, day, hour, minute, second).getTime();
  } else {
    ms = Date.UTC(year, month - 1, day, hour, minute, second);
    if (zone !== 'Z' && zone !== 'z') {
      const sign = zone.startsWith('-') ? -1 : 1;
      ms -= sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
    }
  }
  return { nanos: BigInt(ms) * 1_000_000n + BigInt((m[7] ?? '').padEnd(9, '0')) };
}

export function rfc3339Nanos(value: string): bigint | null {
  const parsed = parseRfc3339(value);
  return 'nanos' in parsed ? parsed.nanos : null;
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION = /^[-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/;

/** Go's time.ParseDuration, in milliseconds. */
function parseDurationMs(value: string): number | null {
  if (!DURATION.test(value)) return null;
  const sign = value.startsWith('-') ? -1 : 1;
  let total = 0;
  for (const [, amount, unit] of value.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) {
    total += Number(amount) * (DURATION_UNITS[unit ?? 'ms'] ?? 1);
  }
  return sign * total;
}

/**
 * A --since/--until value the way the docker CLI's GetTimestamp reads it: a Go duration back from now (whole
 * seconds), an RFC 3339 date or time (local time without an offset), or a unix timestamp with optional fraction.
 */
export function parseTimeValue(value: string, now: Date): bigint {
  const duration = value === '0' ? null : parseDurationMs(value);
  if (duration !== null) return BigInt(Math.floor((now.getTime() - duration) / 1000)) * 1_000_000_000n;
  if (value.includes('-')) {
    const parsed = parseRfc3339(value);
    if ('error' in parsed) throw new TimeValueError(`parsing time "${value}": ${parsed.error}`);
    return parsed.nanos;
  }
  const unix = /^(\d+)(?:\.(\d{1,9}))?$/.exec(value);
  if (!unix) throw new TimeValueError(`failed to parse value as time or duration: "${value}"`);
  return BigInt(unix[1] ?? '0') * 1_000_000_000n + BigInt((unix[2] ?? '').padEnd(9, '0'));
}

/** The stamp of a log line, or null for a line that does not start with one (a continuation of a multi-line entry). */
export function lineStamp(line: Buffer): bigint | null {
  const space = line.indexOf(SPACE);
  if (space < 20 || space > MAX_STAMP || line[4] !== 0x2d || line[10] !== 0x54) return null;
  return rfc3339Nanos(line.toString('latin1', 0, space));
}

class LogReader {
  private readonly buffer = Buffer.allocUnsafe(WINDOW);

  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
  ) {}

  private async read(position: number, length = WINDOW): Promise<Buffer> {
    const { bytesRead } = await this.handle.read(this.buffer, 0, Math.min(length, WINDOW), position);
    return this.buffer.subarray(0, bytesRead);
  }

  /** The offset just after the first newline at or after `from` (the file size when there is none). */
  async nextLineStart(from: number): Promise<number> {
    for (let position = from; position < this.size; position += WINDOW) {
      const chunk = await this.read(position);
      const newline = chunk.indexOf(NEWLINE);
      if (newline !== -1) return position + newline + 1;
    }
    return this.size;
  }

  /**
   * Offset of the first line whose stamp is >= `since`, found as docker finds it: every line from the start is read
   * and its stamp decoded until one is at or after `since`. A gigabyte of history costs seconds, as it does docker.
   */
  async sinceOffset(since: bigint): Promise<number> {
    const chunk = Buffer.allocUnsafe(SCAN_CHUNK);
    for (let position = 0; position < this.size; ) {
      const { bytesRead } = await this.handle.read(chunk, 0, SCAN_CHUNK, position);
      if (bytesRead === 0) break;
      let start = 0;
      for (let newline = chunk.indexOf(NEWLINE, 0); newline !== -1 && newline < bytesRead; newline = chunk.indexOf(NEWLINE, start)) {
        const stamp = lineStamp(chunk.subarray(start, newline + 1));
        if (stamp !== null && stamp >= since) return position + start;
        start = newline + 1;
      }
      if (start === 0) {
        // One line longer than the chunk: judge it by its start, then skip to the line after it.
        const stamp = lineStamp(chunk.subarray(0, bytesRead));
        if (stamp !== null && stamp >= since) return position;
        position = await this.nextLineStart(position + bytesRead - 1);
      } else if (position + bytesRead >= this.size && start < bytesRead) {
        // The last line has no newline yet (a write in progress).
        const stamp = lineStamp(chunk.subarray(start, bytesRead));
        return stamp !== null && stamp >= since ? position + start : this.size;
      } else {
        position += start;
      }
    }
    return this.size;
  }

  /** Offset of the start of the last `lines` lines, reading backwards in windows. */
  async tailOffset(lines: number): Promise<number> {
    if (lines <= 0) return this.size;
    const last = this.size > 0 ? await this.read(this.size - 1, 1) : Buffer.alloc(0);
    let end = last[0] === NEWLINE ? this.size - 1 : this.size;
    let seen = 0;
    while (end > 0) {
      const start = Math.max(0, end - WINDOW);
      const chunk = await this.read(start, end - start);
      for (let i = chunk.length - 1; i >= 0; i--) {
        if (chunk[i] === NEWLINE && ++seen === lines) return start + i + 1;
      }
      end = start;
    }
    return 0;
  }
}

async function withReader<T>(file: string, use: (reader: LogReader) => Promise<T>): Promise<T> {
  const handle = await open(file, 'r');
  try {
    return await use(new LogReader(handle, (await handle.stat()).size));
  } finally {
    await handle.close();
  }
}

export const sinceOffset = (file: string, since: bigint) => withReader(file, (reader) => reader.sinceOffset(since));
export const tailOffset = (file: string, lines: number) => withReader(file, (reader) => reader.tailOffset(lines));

export interface LogQuery {
  since?: bigint;
  until?: bigint;
  /** Number of lines from the end; undefined for all. */
  tail?: number;
  timestamps: boolean;
}

/** Splits chunks into lines, drops stamps (unless -t) and stops at the first entry after --until. */
class LineFilter {
  private rest: Buffer | null = null;
  /** The last stamped line was before --since (with --tail). */
  private older = false;
  done = false;

  constructor(private readonly query: LogQuery) {}

  push(chunk: Buffer): Buffer {
    if (this.query.timestamps && this.query.until === undefined && (this.query.since === undefined || this.query.tail === undefined)) return chunk;
    const data = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    const out: Buffer[] = [];
    let start = 0;
    for (let newline = data.indexOf(NEWLINE); newline !== -1 && !this.done; newline = data.indexOf(NEWLINE, start)) {
      this.line(data.subarray(start, newline + 1), out);
      start = newline + 1;
    }
    this.rest = this.done || start >= data.length ? null : Buffer.from(data.subarray(start));
    return Buffer.concat(out);
  }

  finish(): Buffer {
    const out: Buffer[] = [];
    if (this.rest && !this.done) this.line(this.rest, out);
    this.rest = null;
    return Buffer.concat(out);
  }

  private line(line: Buffer, out: Buffer[]): void {
    const stamp = lineStamp(line);
    // With --tail, --since drops the tail's older entries, and the unstamped lines that continue them.
    if (this.query.since !== undefined && this.query.tail !== undefined) {
      if (stamp !== null) this.older = stamp < this.query.since;
      if (this.older) return;
    }
    if (stamp !== null && this.query.until !== undefined && stamp > this.query.until) {
      this.done = true;
      return;
    }
    out.push(stamp === null || this.query.timestamps ? line : line.subarray(line.indexOf(SPACE) + 1));
  }
}

/** Streams the selected part of a log file to `out`. */
export async function streamLog(file: string, query: LogQuery, out: Writable, signal?: AbortSignal): Promise<void> {
  // With --tail, docker applies --since to the tail's lines (LineFilter); without it, it scans for --since.
  const start = query.tail !== undefined ? await tailOffset(file, query.tail) : query.since !== undefined ? await sinceOffset(file, query.since) : 0;
  const filter = new LineFilter(query);
  const source = createReadStream(file, { start, highWaterMark: 256 * 1024 });
  for await (const chunk of source) {
    const selected = filter.push(chunk as Buffer);
    if (selected.length) await write(out, selected, signal);
    if (filter.done) break;
  }
  const last = filter.finish();
  if (last.length) await write(out, last, signal);
}
