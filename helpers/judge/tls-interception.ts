// Does a TLS-inspecting device sit between an agent and the zone's Upstream Auth Address? The guide: the agents'
// calls "might be subject to a forward proxy with SSL inspection". Such a device ends the agent's TLS with a
// certificate its own CA signed; the WebApp servers, asking the same address from inside, get Kasm's. The suite's
// curls take any certificate (-k, as the guide's), so only comparing what each side was shown tells.
import type { TargetOutcome } from '../fixtures/check.ts';
import type { PresentedCertificate } from '../logs/curl.ts';

export interface TlsViewInput {
  url: string;
  /** What the agent was shown for `url`; undefined when curl printed no certificate. */
  agent: PresentedCertificate | undefined;
  /** What each WebApp server was shown for the same URL (the reference), by server name. */
  webapps: Array<{ name: string; certificate: PresentedCertificate }>;
}

export interface TlsInterception {
  summary: string;
  remediation: string;
  evidence: { url: string; agentSees: PresentedCertificate; webappsSee: Array<{ name: string; certificate: PresentedCertificate }> };
}

const same = (a: PresentedCertificate, b: PresentedCertificate) => a.issuer === b.issuer && a.subject === b.subject;

/** An interception when the agent was shown a certificate no WebApp server was; undefined when it was, or unknown. */
export function judgeTlsInterception(input: TlsViewInput): TlsInterception | undefined {
  if (!input.agent || input.webapps.length === 0) return undefined;
  const agentSees = input.agent;
  if (input.webapps.some((w) => same(w.certificate, agentSees))) return undefined;
  const reference = input.webapps[0]!;
  const issuerDiffers = agentSees.issuer !== reference.certificate.issuer;
  return {
    summary: `${input.url} shows this agent a certificate ${issuerDiffers ? `issued by "${agentSees.issuer}"` : `for "${agentSees.subject}"`}, but WebApp server ${reference.name} gets one ${issuerDiffers ? `issued by "${reference.certificate.issuer}"` : `for "${reference.certificate.subject}"`} for the same address: a TLS-inspecting device re-signs the agent's traffic to the API`,
    remediation: `Exempt the agents' traffic to the Upstream Auth Address from TLS inspection (the device whose CA is "${agentSees.issuer}"), or set the zone's Upstream Auth Address to an internal address the agents reach directly; an inspecting device can delay, cut or refuse the internal_auth call that admits every session.`,
    evidence: { url: input.url, agentSees, webappsSee: input.webapps },
  };
}

/** The agent's outcome for the address with the interception in it: a warning when the call worked, in the failure when not. */
export function withInterception(outcome: TargetOutcome, intercepted: TlsInterception | undefined): TargetOutcome {
  if (!intercepted) return outcome;
  const evidence = { ...outcome.evidence, interception: intercepted.evidence };
  if (outcome.status === 'fail') return { ...outcome, summary: `${outcome.summary}; and ${intercepted.summary}`, remediation: `${intercepted.remediation} ${outcome.remediation ?? ''}`.trim(), evidence };
  return { status: 'warn', summary: `${intercepted.summary} (its health call still answered {"ok": true})`, remediation: intercepted.remediation, evidence };
}
