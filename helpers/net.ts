// Name resolution and the shared HTTP dispatcher for every probe outside the browser.
import dns from 'node:dns';
import type { LookupFunction } from 'node:net';
import { Agent } from 'undici';
import tls from 'node:tls';

const LOOPBACK = /^(?:.+\.)?localhost\.?$/i;

/**
 * Resolves `localhost` and `*.localhost` to loopback without asking DNS (RFC 6761 §6.3), as Chromium and curl do,
 * so the lab's `kasm.localhost` names work from Node too. Everything else goes to the system resolver.
 */
export const lookup: LookupFunction = (hostname, options, callback) => {
  if (!LOOPBACK.test(hostname)) {
    dns.lookup(hostname, options, callback);
    return;
  }
  const family = options.family === 6 || options.family === 'IPv6' ? 6 : 4;
  const address = family === 6 ? '::1' : '127.0.0.1';
  if (options.all) (callback as unknown as (err: null, all: dns.LookupAddress[]) => void)(null, [{ address, family }]);
  else callback(null, address, family);
};

export interface DispatcherOptions {
  insecureTls: boolean;
  connectTimeoutMs: number;
  /** A private CA (PEM, KASM_CA_FILE) certificates are verified against, besides the system's. */
  ca?: string;
}

/** One keep-alive pool per worker: probes reuse connections instead of paying TLS set-up per call. */
export function createDispatcher(options: DispatcherOptions): Agent {
  return new Agent({
    connect: { rejectUnauthorized: !options.insecureTls, lookup, timeout: options.connectTimeoutMs, ...(options.ca ? { ca: [...tls.rootCertificates, options.ca] } : {}) },
    keepAliveTimeout: 10_000,
    connections: 16,
  });
}
