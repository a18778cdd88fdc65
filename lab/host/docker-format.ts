// Text the docker CLI prints, reproduced from its source: go-units HumanDuration, the daemon's State.String(),
// formatter.Ellipsis, Go's strconv.Quote and encoding/json, and text/tabwriter as `docker ps` configures it.
import type { ContainerState } from '../state.ts';
import { CommandFailure, type Container } from './context.ts';

/** Fields container.json may carry beyond ContainerState; without them the stand-ins derive plausible values. */
export interface StoredContainer extends ContainerState {
  exitCode?: number;
  finishedAt?: string;
}

/** The one network compose puts Kasm's containers on. */
export const NETWORK = 'kasm_default_network';

/** When a stopped container stopped: container.json's finishedAt, else the moment the lab last rewrote its state. */
export const finishedAt = (c: Container) => (c.state.finishedAt ? new Date(c.state.finishedAt) : c.changedAt);

/** cobra's message when a docker command gets the wrong number of arguments. */
export function dockerUsageError(command: string, usage: string, summary: string, requirement: string): CommandFailure {
  return new CommandFailure(`"docker ${command}" requires ${requirement}.\nSee 'docker ${command} --help'.\n\nUsage:  docker ${command} ${usage}\n\n${summary}`);
}

/** go-units HumanDuration (docker's "6 days", "About a minute", "Less than a second"). */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.trunc(ms / 3_600_000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(ms / 3_600_000 / 24 / 365)} years`;
}

const HEALTH_TEXT = { healthy: 'healthy', unhealthy: 'unhealthy', starting: 'health: starting' } as const;

/** A stopped container's exit code; docker reports 137 after `docker stop` had to kill, 1 for a crash loop. */
export function exitCodeOf(container: StoredContainer): number {
  if (container.state === 'running') return 0;
  return container.exitCode ?? (container.state === 'restarting' ? 1 : 137);
}

/** The daemon's State.String(): `Up 6 days (healthy)`, `Restarting (1) 4 seconds ago`, `Exited (137) 2 hours ago`. */
export function statusText(container: StoredContainer, finishedAt: Date, now: Date): string {
  const since = (at: string | Date) => humanDuration(now.getTime() - new Date(at).getTime());
  if (container.state === 'running') {
    const health = container.health ? ` (${HEALTH_TEXT[container.health]})` : '';
    return `Up ${since(container.startedAt)}${health}`;
  }
  const verb = container.state === 'restarting' ? 'Restarting' : 'Exited';
  return `${verb} (${exitCodeOf(container)}) ${since(finishedAt)} ago`;
}

/** formatter.Ellipsis for single-width text: keep maxWidth-1 characters and add `…`. */
export function ellipsis(text: string, maxWidth: number): string {
  const chars = [...text];
  return chars.length <= maxWidth ? text : `${chars.slice(0, maxWidth - 1).join('')}…`;
}

const GO_ESCAPES: Record<string, string> = { '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v' };

/** strconv.Quote, which is how docker ps prints COMMAND. */
export function goQuote(text: string): string {
  const body = text.replace(/[\\"\x00-\x1f\x7f]/g, (c) => {
    if (c === '\\' || c === '"') return `\\${c}`;
    return GO_ESCAPES[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
  return `"${body}"`;
}

/** encoding/json output: Go escapes <, > and & (so `->` in Ports reads `-\u003e`), and U+2028/U+2029. */
export function goJson(value: unknown, indent?: string): string {
  const text = JSON.stringify(value ?? null, null, indent) ?? 'null';
  return text.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** text/tabwriter as docker's formatter sets it up: minwidth 10, padding 3, the last cell of a line unpadded. */
export function tabwrite(lines: string[][], minWidth = 10, padding = 3): string {
  const widths: number[] = [];
  for (const cells of lines) {
    cells.slice(0, -1).forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? minWidth, [...cell].length + padding);
    });
  }
  return lines
    .map((cells) => cells.map((cell, i) => (i < cells.length - 1 ? cell + ' '.repeat((widths[i] ?? 0) - [...cell].length) : cell)).join(''))
    .map((line) => `${line}\n`)
    .join('');
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** Go's time.Time.String() in UTC, as docker ps prints CreatedAt: `2024-11-18 12:00:00 +0000 UTC`. */
export function goTimeString(at: Date): string {
  return `${at.getUTCFullYear()}-${pad(at.getUTCMonth() + 1)}-${pad(at.getUTCDate())} ${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())}:${pad(at.getUTCSeconds())} +0000 UTC`;
}

/** RFC3339Nano as docker inspect prints it (Go trims trailing zeros of the fraction). */
export function goRfc3339Nano(at: Date): string {
  const ms = at.getUTCMilliseconds();
  const fraction = ms ? `.${pad(ms, 3)}`.replace(/0+$/, '') : '';
  return `${at.toISOString().slice(0, 19)}${fraction}Z`;
}

export interface PortMapping {
  containerPort: string;
  hostIp?: string;
  hostPort?: string;
}

/** Splits docker ps's PORTS text (`80/tcp, 0.0.0.0:8443->443/tcp, :::8443->443/tcp`) into mappings. */
export function parsePorts(ports: string): PortMapping[] {
  return ports
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const published = /^(.*):(\d+)->(\d+\/\w+)$/.exec(part);
      return published ? { hostIp: published[1] ?? '', hostPort: published[2] ?? '', containerPort: published[3] ?? '' } : { containerPort: part };
    });
}
