// Server Configuration Issues, on every WebApp and agent server: containers, the listening port, local
// connectivity through the server's own IP, and the host firewall (reported, never changed).
import { check, test } from '../helpers/fixtures/index.ts';
import { curlSeconds, skipWithoutHosts } from '../helpers/fixtures/servers.ts';
import { classifyCurl } from '../helpers/logs/curl.ts';
import { parseDockerPs, parseNetworkAddresses } from '../helpers/logs/docker-ps.ts';
import { parseIptablesRules, parseUfwStatus } from '../helpers/logs/firewall.ts';
import { parseIpAddr, userFacingAddresses } from '../helpers/logs/ip.ts';
import { parseNginxAccessLog } from '../helpers/logs/nginx.ts';
import { directAnswer, judgeStaleProxy, type StaleProxyInput } from '../helpers/judge/stale-proxy.ts';
import { judgeContainers, judgeFirewall, judgeListening, judgeLocalConnectivity } from '../helpers/judge/host-config.ts';
import { parseSsListening } from '../helpers/logs/ss.ts';
import type { Inventory, ServerHost } from '../helpers/inventory.ts';
import type { KasmConfig } from '../helpers/config.ts';
import { SshError, type SshHost } from '../helpers/probes/ssh.ts';

/** The port Kasm expects this host's kasm_proxy on: the agent's from get_agents, the WebApp port otherwise. */
function portOf(host: ServerHost, inventory: Inventory, config: KasmConfig): number {
  if (host.role === 'webapp') return config.webappPort;
  return inventory.kasmAgents.find((a) => a.ssh === host)?.port ?? config.agentPort;
}

// kasm_api's own port inside Kasm's Docker network (Kasm's compose and the kasm-helm probes: 8080).
const KASM_API_PORT = 8080;

/** kasm_api's health path at its current Docker address, from the server; undefined when that address is unknown. */
async function kasmApiDirect(ssh: SshHost, seconds: number): Promise<StaleProxyInput['direct']> {
  let inspected;
  try {
    inspected = await ssh.run({ kind: 'docker-inspect-networks', container: 'kasm_api' });
  } catch (error) {
    // A sudoers rule from before this command was added: judge without it, as before.
    if (error instanceof SshError && error.code === 'SSH_SUDO_PASSWORD') return undefined;
    throw error;
  }
  const address = inspected.exitCode === 0 ? parseNetworkAddresses(inspected.stdout)[0] : undefined;
  if (!address) return undefined;
  const url = `http://${address}:${KASM_API_PORT}/api/__healthcheck`;
  const result = await ssh.run({ kind: 'curl-health', url, timeoutSeconds: seconds });
  return { url, answered: directAnswer(classifyCurl({ exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr })) };
}

for (const role of ['webapp', 'agent'] as const) {
  const roleName = role === 'webapp' ? 'WebApp server' : 'agent';

  test(`every ${roleName} runs its Kasm containers up and healthy`, check(`${role}.containers`), async ({ check, servers, config }, testInfo) => {
    skipWithoutHosts(await servers.hosts(role), role, testInfo);
    const inventory = await servers.inventory();
    // A single-server install is in both lists and runs both roles' containers.
    const rolesOf = (h: ServerHost) => (['webapp', 'agent'] as const).filter((r) => (r === 'webapp' ? inventory.webapps : inventory.agents).some((x) => x.target.host === h.target.host));
    await servers.each(role, check, async (host, ssh) => {
      const result = await ssh.run({ kind: 'docker-ps' });
      const { containers, unparsed } = parseDockerPs(result.stdout);
      const failed = result.exitCode !== 0 ? { exitCode: result.exitCode, stderr: result.stderr } : undefined;
      return judgeContainers({ role, roles: rolesOf(host), containers, unparsed: unparsed.length, port: portOf(host, inventory, config), failed });
    });
    check.conclude();
  });

  test(`every ${roleName} listens on its Kasm port on IPv4 and IPv6`, check(`${role}.listening`), async ({ check, servers, config }, testInfo) => {
    skipWithoutHosts(await servers.hosts(role), role, testInfo);
    const inventory = await servers.inventory();
    await servers.each(role, check, async (host, ssh) => {
      const port = portOf(host, inventory, config);
      const result = await ssh.run({ kind: 'ss-listening' });
      const { sockets } = parseSsListening(result.stdout);
      return judgeListening(port, sockets);
    });
    check.conclude();
  });

  test(`every ${roleName} answers its health check through its own user-facing IP`, check(`${role}.local-connectivity`), async ({ check, servers, config }, testInfo) => {
    skipWithoutHosts(await servers.hosts(role), role, testInfo);
    const inventory = await servers.inventory();
    const path = role === 'webapp' ? '/api/__healthcheck' : '/agent/__healthcheck';
    await servers.each(role, check, async (host, ssh) => {
      const port = portOf(host, inventory, config);
      const addresses = userFacingAddresses(parseIpAddr((await ssh.run({ kind: 'ip-addr' })).stdout).interfaces);
      if (!addresses.length) return judgeLocalConnectivity({ evidence: {} });
      const ip = addresses[0]!.address;
      const url = `https://${ip}:${port}${path}`;
      const askedAt = Date.now();
      const result = await ssh.run({ kind: 'curl-health', url, timeoutSeconds: curlSeconds(config) });
      const curl = classifyCurl({ exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr });
      const evidence = { url, curl: { exitCode: result.exitCode, code: curl.code, httpStatus: curl.httpStatus, body: curl.body, meaning: curl.meaning } };
      if (curl.ok || role !== 'webapp') return judgeLocalConnectivity({ url, curl, evidence });
      const apiUp = parseDockerPs((await ssh.run({ kind: 'docker-ps' })).stdout).containers.some((c) => c.names === 'kasm_api' && c.state === 'up');
      // Only nginx's errors for this health path, in the transcript too: the rest of kasm_proxy's log is other users'.
      const forPath = (stdout: string) => parseNginxAccessLog(stdout).errors.filter((e) => (e.request ?? '').includes(` ${path} `));
      const keep = (stdout: string) => forPath(stdout).map((e) => e.raw).join('\n');
      const proxyErrors = async () => (apiUp ? forPath((await ssh.run({ kind: 'docker-logs', container: 'kasm_proxy', since: new Date(askedAt - 5_000), tail: config.logTailLines }, { keep })).stdout) : []);
      // kasm_api curled at its current Docker address from the server, past kasm_proxy: does it answer itself?
      const direct = apiUp && (curl.code === 'TIMEOUT' || curl.code === 'HTTP_ERROR') ? await kasmApiDirect(ssh, curlSeconds(config)) : undefined;
      let stale = judgeStaleProxy({ curl, apiUp, proxyErrors: await proxyErrors(), path, direct });
      // Without kasm_api's address (an older sudoers rule), nginx's failed connect is the only evidence, and nginx
      // logs it when the kernel gives up on the address (about 3 s of ARP), which can be after curl gave up.
      if (!stale && !direct && apiUp && curl.code === 'TIMEOUT') {
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, askedAt + curlSeconds(config) * 1000 + 3_000 - Date.now())));
        stale = judgeStaleProxy({ curl, apiUp, proxyErrors: await proxyErrors(), path });
      }
      return judgeLocalConnectivity({ url, curl, evidence: { ...evidence, ...(direct ? { kasmApiDirect: direct } : {}) }, stale });
    });
    check.conclude();
  });

  test(`no host firewall on any ${roleName} blocks its Kasm port`, check(`${role}.firewall`), async ({ check, servers, config }, testInfo) => {
    skipWithoutHosts(await servers.hosts(role), role, testInfo);
    const inventory = await servers.inventory();
    await servers.each(role, check, async (host, ssh) => {
      const port = portOf(host, inventory, config);
      const [ufwOut, iptablesOut] = await Promise.all([ssh.run({ kind: 'ufw-status' }), ssh.run({ kind: 'iptables-rules' })]);
      const ufw = parseUfwStatus(ufwOut.stdout);
      const iptables = parseIptablesRules(iptablesOut.stdout);
      return judgeFirewall(port, ufw, iptables);
    });
    check.conclude();
  });
}
