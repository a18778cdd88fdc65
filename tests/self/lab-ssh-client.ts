// A bare ssh2 client for the lab's own tests: connects with the lab's client key, verifies the host key against
// the lab's known_hosts, and runs one command with a time limit.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import ssh2, { Client } from 'ssh2';

export interface Result {
  code: number | null;
  signal: string | undefined;
  stdout: string;
  stderr: string;
}

export function knownHostKey(knownHostsFile: string, host: string, port: number): string {
  const line = readFileSync(knownHostsFile, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`[${host}]:${port} `));
  assert.ok(line, `known_hosts has no entry for [${host}]:${port}`);
  return line.split(' ')[2]!;
}

export function connect(target: { host: string; port: number }, privateKey: Buffer, knownHostsFile: string): Promise<ssh2.Client> {
  const expected = knownHostKey(knownHostsFile, target.host, target.port);
  return new Promise((resolve, reject) => {
    const client = new Client();
    client.once('ready', () => resolve(client));
    client.once('error', reject);
    client.connect({ host: target.host, port: target.port, username: 'kasm-admin', privateKey, readyTimeout: 5000, hostVerifier: (key: Buffer) => key.toString('base64') === expected });
  });
}

/**
 * Runs a command; the channel is closed at the time limit or, when `enough` holds for what has arrived, half a second
 * later (time for a command that would end by itself to do so).
 */
export function run(client: ssh2.Client, command: string, timeoutMs = 20_000, enough?: (result: Result) => boolean): Promise<Result> {
  return new Promise((resolve, reject) => {
    client.exec(command, (error, channel) => {
      if (error) return reject(error);
      const result: Result = { code: null, signal: undefined, stdout: '', stderr: '' };
      let timer = setTimeout(() => channel.close(), timeoutMs);
      let watching = enough;
      const arrived = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
        result[stream] += chunk.toString();
        if (watching?.(result)) {
          watching = undefined;
          clearTimeout(timer);
          timer = setTimeout(() => channel.close(), 500);
        }
      };
      channel.on('data', arrived('stdout'));
      channel.stderr.on('data', arrived('stderr'));
      channel.on('exit', (code: number | null, signal?: string) => {
        result.code = code;
        result.signal = signal;
      });
      channel.on('close', () => {
        clearTimeout(timer);
        resolve(result);
      });
    });
  });
}

export { waitFor } from './wait.ts';
