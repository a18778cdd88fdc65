// A health curl run on a server, turned into that server's outcome with the guide's advice for the failure.
import type { TargetOutcome } from '../fixtures/check.ts';
import { classifyCurl, type CurlClass } from '../logs/curl.ts';

const ADVICE: Partial<Record<CurlClass['code'], string>> = {
  DNS: 'the name does not resolve from this server: add it to the internal DNS (or /etc/hosts), or use an address this server can resolve',
  REFUSED_OR_NO_ROUTE: 'nothing answers there from this server: check routing, security groups and firewalls between the servers, and that kasm_proxy listens on that port',
  TIMEOUT: 'the connection hangs: a firewall or security group drops the traffic between the servers',
  TLS: 'the TLS handshake failed: a forward proxy or TLS-inspecting device sits between the servers; exempt this traffic from inspection',
};

/** Runs the curl and judges it: {"ok": true} passes; anything else fails with what it means and what to do. */
export async function curlOutcome(run: () => Promise<{ exitCode: number | null; stdout: string; stderr: string }>, url: string, remediation: string): Promise<TargetOutcome> {
  const result = await run();
  const curl = classifyCurl(result);
  const evidence = { url, exitCode: result.exitCode, code: curl.code, httpStatus: curl.httpStatus, body: curl.body, meaning: curl.meaning };
  if (curl.ok) return { status: 'pass', summary: `${url} answered {"ok": true}`, evidence };
  return {
    status: 'fail',
    // A hang or a cut connection may not happen twice; a refusal, a name that does not resolve or a TLS error will.
    transient: curl.code === 'TIMEOUT' || result.exitCode === 52 || result.exitCode === 56,
    summary: `${url}: ${curl.meaning}${result.exitCode ? ` (curl exit ${result.exitCode})` : ''}`,
    remediation: `${ADVICE[curl.code] ? `${ADVICE[curl.code]}. ` : ''}${remediation}`,
    evidence,
  };
}

