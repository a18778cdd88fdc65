// Validate Session Authorization, the reachability half: WebApp servers reach every agent at the address Kasm
// uses for it, and agents reach the zone's Upstream Auth Address.
import { check, test } from '../helpers/fixtures/index.ts';
import { curlSeconds, skipWithoutHosts, sshFailure } from '../helpers/fixtures/servers.ts';
import { curlOutcome } from '../helpers/diagnosis/curl-outcome.ts';
import { judgeTlsInterception, withInterception, type TlsViewInput } from '../helpers/judge/tls-interception.ts';
import { parseCurlCertificate } from '../helpers/logs/curl.ts';
import type { SshHost } from '../helpers/probes/ssh.ts';

/** Of curl's verbose report, the certificate lines: the rest (request and answer headers) is no one's business. */
const keepCertificate = (text: string) => text.split('\n').filter((line) => /^\*\s+(?:Server certificate|subject|issuer):/.test(line)).join('\n');

test('every WebApp server reaches every agent at the address Kasm uses for it', check('webapp.agent-reachable'), async ({ check, servers, config }, testInfo) => {
  skipWithoutHosts(await servers.hosts('webapp'), 'webapp', testInfo);
  const inventory = await servers.inventory();
  testInfo.skip(inventory.kasmAgents.length === 0, `no agents known: ${inventory.notes.find((n) => n.startsWith('get_agents')) ?? 'get_agents lists none'}, and KASM_SSH_AGENTS is empty`);
  await check.evidence('inventory', { agents: inventory.kasmAgents.map((a) => ({ hostname: a.hostname, port: a.port, ssh: a.ssh?.name ?? null })), notes: inventory.notes });
  const seconds = curlSeconds(config);
  const outcomes = await Promise.all(
    inventory.webapps.map(async (webapp) => {
      try {
        const ssh = await servers.connect(webapp);
        return await Promise.all(
          inventory.kasmAgents.map(async (agent) => {
            const url = `https://${agent.hostname}:${agent.port}/agent/__healthcheck`;
            const outcome = await curlOutcome(() => ssh.run({ kind: 'curl-health', url, timeoutSeconds: seconds }), url, 'Use the address in Admin > Infrastructure > Docker Agents; it must resolve and be reachable from every WebApp server.');
            return [`${webapp.name} -> ${agent.hostname}:${agent.port}`, outcome] as const;
          }),
        );
      } catch (error) {
        return [[webapp.name, sshFailure(error)] as const];
      }
    }),
  );
  // No WebApp server reaches any agent: Kasm cannot start a session anywhere, whatever it answers for one.
  const all = outcomes.flat();
  const noneReached = all.length > 0 && all.every(([, o]) => o.status === 'fail');
  for (const [name, outcome] of all) check.target(name, noneReached ? { ...outcome, explains: ['api.session-create'] } : outcome);
  for (const agent of inventory.kasmAgents.filter((a) => !a.ssh)) {
    check.target(`${agent.hostname} (SSH)`, { status: 'warn', summary: `agent ${agent.hostname} is in Kasm (Infrastructure > Docker Agents) but not in KASM_SSH_AGENTS: its host checks did not run`, remediation: 'Add it to KASM_SSH_AGENTS so every agent is checked.' });
  }
  check.conclude();
});

test("every agent reaches the zone's Upstream Auth Address", check('agent.upstream-auth-reachable'), async ({ check, servers, config }, testInfo) => {
  skipWithoutHosts(await servers.hosts('agent'), 'agent', testInfo);
  const inventory = await servers.inventory();
  testInfo.skip(inventory.upstreamAuth.length === 0, `no Upstream Auth Address known: ${inventory.notes.find((n) => n.startsWith('get_zones')) ?? 'get_zones lists no zone'}, and KASM_UPSTREAM_AUTH_ADDRESS is not set`);
  const seconds = curlSeconds(config);
  // What the certificate curl reports, and only that, in the transcript.
  const certificateOf = async (ssh: SshHost, url: string) => parseCurlCertificate((await ssh.run({ kind: 'curl-cert', url, timeoutSeconds: seconds }, { keep: keepCertificate })).stdout);
  // The reference: what each WebApp server is shown for the same address, asked once per address.
  const references = new Map<string, Promise<TlsViewInput['webapps']>>();
  const referenceFor = (url: string) => {
    if (!references.has(url)) {
      references.set(
        url,
        Promise.all(
          inventory.webapps.map(async (webapp) => {
            const certificate = await certificateOf(await servers.connect(webapp), url).catch(() => undefined);
            return certificate ? [{ name: webapp.name, certificate }] : [];
          }),
        ).then((views) => views.flat()),
      );
    }
    return references.get(url)!;
  };
  await servers.each('agent', check, async (_agent, ssh) => {
    const outcomes = await Promise.all(
      inventory.upstreamAuth.map(async ({ zone, address }) => {
        const url = `https://${address}/api/__healthcheck`;
        const [outcome, agentSees, webapps] = await Promise.all([
          curlOutcome(
            () => ssh.run({ kind: 'curl-health', url, timeoutSeconds: seconds }),
            url,
            `Zone "${zone}": set Admin > Infrastructure > Zones > Upstream Auth Address to an internal load balancer in front of the WebApp servers, or an internal DNS name for them, that every agent can resolve and reach without TLS inspection; then destroy existing sessions.`,
          ),
          certificateOf(ssh, url),
          referenceFor(url),
        ]);
        return withInterception(outcome, judgeTlsInterception({ url, agent: agentSees, webapps }));
      }),
    );
    return outcomes.find((o) => o.status === 'fail') ?? outcomes.find((o) => o.status === 'warn') ?? { status: 'pass', summary: outcomes.map((o) => o.summary).join('; '), evidence: { checked: outcomes.map((o) => o.evidence) } };
  });
  check.conclude();
});
