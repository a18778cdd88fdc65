// What a check's evidence travelled over, when that was not verified: a plain-HTTP KASM_URL, KASM_INSECURE_TLS=true,
// an SSH host key accepted without checking (KASM_SSH_INSECURE_HOST_KEYS=true), a jump host's included. Whatever
// used such a transport says so here while a check runs; the check fixture puts the notes on each of its findings
// (helpers/fixtures/check.ts) and the run's summary states them (helpers/diagnosis/diagnose.ts). A worker runs one
// test at a time, so the notes made since the last check ended are the running check's.
import type { KasmConfig } from './config.ts';
import type { HostKeyInfo } from './probes/ssh.ts';

const notes = new Set<string>();

/** The notes made since the last take, in the order they were first made; the check fixture takes them as it ends. */
export function takeTransportNotes(): string[] {
  const taken = [...notes];
  notes.clear();
  return taken;
}

/** Chromium takes no CA file, so with KASM_CA_FILE the browser does not check certificates (and says so). */
export const browserSkipsTls = (config: Pick<KasmConfig, 'tls'>) => config.tls.insecure || config.tls.ca !== undefined;

/**
 * Why the Kasm URL's transport was not verified for what used it (`api`: the suite's own connections, the Developer
 * API and the WebSocket probe; `browser`: the page), or nothing when it was (HTTPS, certificate checked).
 */
export function kasmTransportNote(config: Pick<KasmConfig, 'url' | 'tls'>, via: 'api' | 'browser' = 'api'): string | undefined {
  if (config.url.protocol === 'http:') return `${config.url.origin} is plain HTTP (KASM_URL): API secret, password and session cookies travel unencrypted`;
  if (config.tls.insecure) return `the TLS certificate of ${config.url.origin} was not verified (KASM_INSECURE_TLS=true)`;
  if (via === 'browser' && config.tls.ca) return `the browser did not check TLS certificates (Chromium takes no CA file); the suite's own connections verified ${config.url.origin} against KASM_CA_FILE ${config.tls.ca.file}`;
  return undefined;
}

/** Whatever reached Kasm over KASM_URL (the API, the browser, the WebSocket probe) says so. */
export function usedKasm(config: Pick<KasmConfig, 'url' | 'tls'>, via: 'api' | 'browser' = 'api'): void {
  const note = kasmTransportNote(config, via);
  if (note) notes.add(note);
}

export function hostKeyNote(label: string, key: HostKeyInfo): string | undefined {
  return key.verifiedBy.startsWith('NOT VERIFIED') ? `the SSH host key of ${label} (${key.fingerprint}) was not verified (KASM_SSH_INSECURE_HOST_KEYS=true)` : undefined;
}

/** Whatever ran a command over SSH says so, for the host and for the jump host it went through. */
export function usedSsh(host: { label: string; hostKey: HostKeyInfo; jumpHostKey?: HostKeyInfo; jumpLabel?: string }): void {
  for (const note of [hostKeyNote(host.label, host.hostKey), host.jumpHostKey && hostKeyNote(`jump host ${host.jumpLabel ?? ''}`.trim(), host.jumpHostKey)]) if (note) notes.add(note);
}
