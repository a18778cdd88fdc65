// Validate Session Authorization, the reachability half: WebApp servers reach every agent at the address Kasm
// uses for it, and agents reach the zone's Upstream Auth Address from where their kasm_proxy resolves it.
import { check, test } from '../helpers/fixtures/index.ts';
import { curlSeconds, skipWithoutHosts, sshFailure } from '../helpers/fixtures/servers.ts';
import { AGENT_ADDRESS_FIX, judgeAgentReachability, judgeHealthCurl, judgeUpstreamAuth, upstreamRoute, worstOutcome, type UpstreamAuthEvidence } from '../helpers/judge/reachability.ts';
import { parseCurlCertificate } from '../helpers/logs/curl.ts';
import { parseNetworkNames } from '../helpers/logs/docker-ps.ts';
import { SshError, type SshHost } from '../helpers/probes/ssh.ts';
import type { CurlResolve } from '../helpers/probes/remote-commands.ts';

/** Of curl's verbose report, the certificate lines: the rest (request and answer headers) is no one's business. */
const keepCertificate = (text: string) => text.split('\n').filter((line) => /^\*\s+(?:Server certificate|subject|issuer):/.test(line)).join('\n');

/** The agent's kasm_proxy resolves the Upstream Auth Address through Docker's resolver, on kasm_proxy's networks. */
const AUTH_CALLER = 'kasm_proxy';

test('every WebApp server reaches every agent at the address Kasm uses for it', check('webapp.agent-reachable'), async ({ check, servers, config }, testInfo) => {
  skipWithoutHosts(await servers.hosts('webapp'), 'webapp', testInfo);
  const inventory = await servers.inventory();
  testInfo.skip(inventory.kasmAgents.length === 0, `no agents known: ${inventory.notes.find((n) => n.startsWith('get_agents')) ?? 'get_agents lists none'}, and KASM_SSH_AGENTS is empty`);
  await check.evidence('inventory', { agents: inventory.kasmAgents.map((a) => ({ hostname: a.hostname, port: a.port, ssh: a.ssh?.name ?? null })), notes: inventory.notes });
  const seconds = curlSeconds(config);
  const results = await Promise.all(
    inventory.webapps.map(async (webapp) => {
      try {
        const ssh = await servers.connect(webapp);
        return await Promise.all(
          inventory.kasmAgents.map(async (agent) => {
            const url = `https://${agent.hostname}:${agent.port}/agent/__healthcheck`;
            const run = await ssh.run({ kind: 'curl-health', url, timeoutSeconds: seconds });
            return { target: `${webapp.name} -> ${agent.hostname}:${agent.port}`, outcome: judgeHealthCurl(url, run, AGENT_ADDRESS_FIX) };
          }),
        );
      } catch (error) {
        return [{ target: webapp.name, outcome: sshFailure(error) }];
      }
    }),
  );
  const judged = judgeAgentReachability({ results: results.flat(), agentsWithoutSsh: inventory.kasmAgents.filter((a) => !a.ssh).map((a) => a.hostname) });
  for (const { target, outcome } of judged) check.target(target, outcome);
  check.conclude();
});

/** kasm_proxy's Docker networks on the agent, with the names Docker's resolver gives each container there. */
async function callerNetworks(ssh: SshHost) {
  try {
    const inspected = await ssh.run({ kind: 'docker-inspect-networks', container: AUTH_CALLER });
    if (inspected.exitCode !== 0) return { unread: `docker inspect exit ${inspected.exitCode}: ${(inspected.stderr || inspected.stdout).trim().slice(0, 200)}` };
    return parseNetworkNames(inspected.stdout);
  } catch (error) {
    // A sudoers rule without docker inspect: the route stays unknown, and a name only Docker resolves is not judged.
    if (error instanceof SshError && error.code === 'SSH_SUDO_PASSWORD') return { unread: error.message.slice(0, 200) };
    throw error;
  }
}

test("every agent reaches the zone's Upstream Auth Address", check('agent.upstream-auth-reachable'), async ({ check, servers, config }, testInfo) => {
  skipWithoutHosts(await servers.hosts('agent'), 'agent', testInfo);
  const inventory = await servers.inventory();
  testInfo.skip(inventory.upstreamAuth.length === 0, `no Upstream Auth Address known: ${inventory.notes.find((n) => n.startsWith('get_zones')) ?? 'get_zones lists no zone'}, and KASM_UPSTREAM_AUTH_ADDRESS is not set`);
  const seconds = curlSeconds(config);
  // What the certificate curl reports, and only that, in the transcript.
  const certificateOf = async (ssh: SshHost, url: string) => parseCurlCertificate((await ssh.run({ kind: 'curl-cert', url, timeoutSeconds: seconds }, { keep: keepCertificate })).stdout);
  // The reference: what each WebApp server is shown for the same address, asked once per address.
  const references = new Map<string, Promise<UpstreamAuthEvidence['webappCertificates']>>();
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
    const networks = await callerNetworks(ssh);
    const outcomes = await Promise.all(
      inventory.upstreamAuth.map(async ({ zone, address }) => {
        const url = new URL(`https://${address}/api/__healthcheck`);
        const route = upstreamRoute(url.hostname, AUTH_CALLER, networks);
        if (route.via === 'docker') {
          // The name is kasm_proxy's on its Docker network: reached at that address, as its nginx resolves it. The
          // call never leaves the agent there, so there is no other view of its certificate to compare.
          const resolve: CurlResolve = { host: url.hostname, port: Number(url.port || 443), address: route.address };
          const curl = await ssh.run({ kind: 'curl-health', url: url.href, timeoutSeconds: seconds, resolve });
          return judgeUpstreamAuth({ zone, url: url.href, route, curl, webappCertificates: [] });
        }
        const [curl, agentCertificate, webappCertificates] = await Promise.all([ssh.run({ kind: 'curl-health', url: url.href, timeoutSeconds: seconds }), certificateOf(ssh, url.href), referenceFor(url.href)]);
        return judgeUpstreamAuth({ zone, url: url.href, route, curl, agentCertificate, webappCertificates });
      }),
    );
    return worstOutcome(outcomes);
  });
  check.conclude();
});
