// The api and server hops' verdicts (helpers/judge/reachability.ts, websocket-log.ts, api-health.ts, host-config.ts): each
// branch with its exact message, from evidence as the hosts give it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AGENT_ADDRESS_FIX, judgeAgentReachability, judgeHealthCurl, judgeUpstreamAuth, upstreamAuthFix, upstreamRoute, worstOutcome, type CurlRun } from '../../helpers/judge/reachability.ts';
import { judgeWebsocketLog } from '../../helpers/judge/websocket-log.ts';
import { UNREAD_FIX } from '../../helpers/judge/api-call.ts';
import { parseNetworkNames } from '../../helpers/logs/docker-ps.ts';
import { classifyCurl } from '../../helpers/logs/curl.ts';
import { judgeApiHealth } from '../../helpers/judge/api-health.ts';
import { judgeContainers, judgeLocalConnectivity, STALE_PROXY_FIX } from '../../helpers/judge/host-config.ts';

const OK: CurlRun = { exitCode: 0, stdout: '{"ok": true}\n200', stderr: '' };
const NO_NAME: CurlRun = { exitCode: 6, stdout: '\n000', stderr: 'curl: (6) Could not resolve host: proxy' };
const REFUSED: CurlRun = { exitCode: 7, stdout: '\n000', stderr: "curl: (7) Failed to connect to proxy port 8443 after 0 ms: Couldn't connect to server" };
const HANG: CurlRun = { exitCode: 28, stdout: '\n000', stderr: 'curl: (28) Connection timed out after 2001 milliseconds' };

// `docker inspect --format '{{json .NetworkSettings.Networks}}' kasm_proxy` on Docker 20.10 (Aliases) and 26+ (DNSNames).
const INSPECT_20 = '{"kasm_default_network":{"IPAMConfig":null,"Links":null,"Aliases":["proxy","3f1c2a9b8d7e"],"NetworkID":"9a","EndpointID":"1b","Gateway":"172.18.0.1","IPAddress":"172.18.0.3","IPPrefixLen":16,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"MacAddress":"02:42:ac:12:00:03","DriverOpts":null}}';
const INSPECT_26 = '{"kasm_default_network":{"IPAMConfig":null,"Links":null,"Aliases":["proxy"],"MacAddress":"02:42:ac:12:00:05","DriverOpts":null,"NetworkID":"9a","EndpointID":"1b","Gateway":"172.18.0.1","IPAddress":"172.18.0.5","IPPrefixLen":16,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":["kasm_proxy","proxy","3f1c2a9b8d7e"]}}';

describe('judgeHealthCurl', () => {
  it('passes {"ok": true}', () => {
    assert.deepEqual(judgeHealthCurl('https://10.0.1.20/agent/__healthcheck', OK, AGENT_ADDRESS_FIX), {
      status: 'pass',
      summary: 'https://10.0.1.20/agent/__healthcheck answered {"ok": true}',
      evidence: { url: 'https://10.0.1.20/agent/__healthcheck', exitCode: 0, code: 'OK', httpStatus: 200, body: '{"ok": true}', meaning: 'Kasm answered {"ok": true}' },
    });
  });

  it('fails a refusal with the advice for it and the fix, not retried', () => {
    const outcome = judgeHealthCurl('https://10.0.1.20/agent/__healthcheck', REFUSED, AGENT_ADDRESS_FIX);
    assert.equal(outcome.status, 'fail');
    assert.equal(outcome.transient, false);
    assert.equal(outcome.summary, "https://10.0.1.20/agent/__healthcheck: the TCP connection could not be made (Failed to connect to proxy port 8443 after 0 ms: Couldn't connect to server) (curl exit 7)");
    assert.equal(outcome.remediation, `nothing answers there from this server: check routing, security groups and firewalls between the servers, and that kasm_proxy listens on that port. ${AGENT_ADDRESS_FIX}`);
  });

  it('retries a hang', () => {
    assert.equal(judgeHealthCurl('https://10.0.1.20/agent/__healthcheck', HANG, AGENT_ADDRESS_FIX).transient, true);
  });
});

describe('judgeAgentReachability', () => {
  const fail = judgeHealthCurl('https://10.0.1.20/agent/__healthcheck', REFUSED, AGENT_ADDRESS_FIX);
  const pass = judgeHealthCurl('https://10.0.1.21/agent/__healthcheck', OK, AGENT_ADDRESS_FIX);

  it('when no WebApp server reaches any agent, that explains why no session starts', () => {
    const judged = judgeAgentReachability({ results: [{ target: 'webapp-1 -> 10.0.1.20:443', outcome: fail }], agentsWithoutSsh: [] });
    assert.deepEqual(judged, [{ target: 'webapp-1 -> 10.0.1.20:443', outcome: { ...fail, explains: ['api.session-create'] } }]);
  });

  it('one agent unreachable of two explains nothing else; an agent without SSH is a warning', () => {
    const judged = judgeAgentReachability({ results: [{ target: 'a', outcome: fail }, { target: 'b', outcome: pass }], agentsWithoutSsh: ['10.0.1.30'] });
    assert.deepEqual(judged, [
      { target: 'a', outcome: fail },
      { target: 'b', outcome: pass },
      { target: '10.0.1.30 (SSH)', outcome: { status: 'warn', summary: 'agent 10.0.1.30 is in Kasm (Infrastructure > Docker Agents) but not in KASM_SSH_AGENTS: its host checks did not run', remediation: 'Add it to KASM_SSH_AGENTS so every agent is checked.' } },
    ]);
  });
});

describe('upstreamRoute', () => {
  it("finds `proxy` among kasm_proxy's Docker names, in Docker 20.10's and 26's inspect", () => {
    assert.deepEqual(upstreamRoute('proxy', 'kasm_proxy', parseNetworkNames(INSPECT_20)), { via: 'docker', container: 'kasm_proxy', network: 'kasm_default_network', address: '172.18.0.3' });
    assert.deepEqual(upstreamRoute('PROXY', 'kasm_proxy', parseNetworkNames(INSPECT_26)), { via: 'docker', container: 'kasm_proxy', network: 'kasm_default_network', address: '172.18.0.5' });
  });

  it("takes the container's own name, which Docker before 26 does not list", () => {
    assert.deepEqual(upstreamRoute('kasm_proxy', 'kasm_proxy', parseNetworkNames(INSPECT_20)), { via: 'docker', container: 'kasm_proxy', network: 'kasm_default_network', address: '172.18.0.3' });
  });

  it('leaves addresses, DNS names and names Docker does not give to the host', () => {
    const networks = parseNetworkNames(INSPECT_20);
    assert.deepEqual(upstreamRoute('10.0.1.10', 'kasm_proxy', networks), { via: 'host' });
    assert.deepEqual(upstreamRoute('kasm-internal.example.com', 'kasm_proxy', networks), { via: 'host' });
    assert.deepEqual(upstreamRoute('webapp-lb', 'kasm_proxy', networks), { via: 'host' });
    assert.deepEqual(upstreamRoute('kasm-internal.example.com', 'kasm_proxy', { unread: 'sudo: a password is required' }), { via: 'host' });
  });

  it('cannot rule out a Docker name for a single label when the networks were not read, or list none', () => {
    assert.deepEqual(upstreamRoute('proxy', 'kasm_proxy', { unread: 'sudo: a password is required' }), { via: 'unknown', container: 'kasm_proxy', why: 'sudo: a password is required' });
    assert.deepEqual(upstreamRoute('proxy', 'kasm_proxy', parseNetworkNames('')), { via: 'unknown', container: 'kasm_proxy', why: 'docker inspect listed no IPv4 network for it' });
    assert.deepEqual(upstreamRoute('kasm.example.com', 'kasm_proxy', []), { via: 'host' });
  });

  it('tells an address from a name made of hex letters', () => {
    const networks = [{ network: 'kasm_default_network', address: '172.18.0.2', names: ['cafe'] }];
    assert.deepEqual(upstreamRoute('cafe', 'kasm_proxy', networks), { via: 'docker', container: 'kasm_proxy', network: 'kasm_default_network', address: '172.18.0.2' });
    assert.deepEqual(upstreamRoute('[fd00::10]', 'kasm_proxy', networks), { via: 'host' });
    assert.deepEqual(upstreamRoute('fd00::10', 'kasm_proxy', networks), { via: 'host' });
  });

  it('reads no names from what is not the inspect JSON', () => {
    assert.deepEqual(parseNetworkNames('Error: No such object: kasm_proxy\n{"a": 1}\n[]'), []);
  });
});

describe('judgeUpstreamAuth', () => {
  const docker = { via: 'docker', container: 'kasm_proxy', network: 'kasm_default_network', address: '172.18.0.3' } as const;

  it("passes `proxy` reached where the agent's kasm_proxy resolves it, and says where", () => {
    const outcome = judgeUpstreamAuth({ zone: 'default', url: 'https://proxy/api/__healthcheck', route: docker, curl: OK, webappCertificates: [] });
    assert.equal(outcome.status, 'pass');
    assert.equal(outcome.summary, 'https://proxy/api/__healthcheck answered {"ok": true}; proxy is kasm_proxy\'s name on Docker network kasm_default_network (172.18.0.3), where the agent\'s kasm_proxy resolves it');
    assert.deepEqual(outcome.evidence?.resolvedIn, { container: 'kasm_proxy', network: 'kasm_default_network', address: '172.18.0.3' });
  });

  it("fails `proxy:8443` refused there, pointing at the agent's own kasm_proxy", () => {
    const outcome = judgeUpstreamAuth({ zone: 'default', url: 'https://proxy:8443/api/__healthcheck', route: docker, curl: REFUSED, webappCertificates: [] });
    assert.equal(outcome.status, 'fail');
    assert.equal(outcome.summary, "https://proxy:8443/api/__healthcheck: the TCP connection could not be made (Failed to connect to proxy port 8443 after 0 ms: Couldn't connect to server) (curl exit 7); proxy is kasm_proxy's name on Docker network kasm_default_network (172.18.0.3), where the agent's kasm_proxy resolves it");
    assert.equal(
      outcome.remediation,
      `The agent's internal_auth goes to kasm_proxy on the agent itself, which must pass /api/ on to the WebApp servers: read \`sudo docker logs --tail 50 kasm_proxy\` on the agent. nothing answers there from this server: check routing, security groups and firewalls between the servers, and that kasm_proxy listens on that port. ${upstreamAuthFix('default')}`,
    );
  });

  it('does not fail `proxy` on the host\'s DNS when the Docker names could not be read: not judged', () => {
    const outcome = judgeUpstreamAuth({ zone: 'default', url: 'https://proxy/api/__healthcheck', route: { via: 'unknown', container: 'kasm_proxy', why: 'sudo: a password is required' }, curl: NO_NAME, webappCertificates: [] });
    assert.equal(outcome.status, 'warn');
    assert.equal(outcome.summary, "not judged: proxy does not resolve on the agent host, and kasm_proxy's Docker networks could not be read (sudo: a password is required) to see whether proxy is one of its container names there (Kasm's default Upstream Auth Address, `proxy`, is kasm_proxy's alias on kasm_default_network, which only the containers resolve)");
    assert.equal(outcome.remediation, 'Let the suite run `docker inspect` on the agents (the sudoers rule in the README), or check by hand on the agent: `sudo docker exec kasm_proxy getent hosts proxy` (and `sudo docker exec kasm_proxy curl -sk https://proxy/api/__healthcheck` where the image has curl).');
    // A paste (analyze) ran no inspect and names no zone: only the check by hand.
    const pasted = judgeUpstreamAuth({ url: 'https://proxy/api/__healthcheck', route: { via: 'unknown', container: 'kasm_proxy', why: 'a paste shows no docker inspect' }, curl: NO_NAME, webappCertificates: [] });
    assert.equal(pasted.remediation, 'Check by hand on the agent: `sudo docker exec kasm_proxy getent hosts proxy` (and `sudo docker exec kasm_proxy curl -sk https://proxy/api/__healthcheck` where the image has curl).');
  });

  it('a zone named nowhere gets the fix without one', () => {
    assert.match(upstreamAuthFix(undefined), /^Set Admin > Infrastructure > Zones > Upstream Auth Address to /);
  });

  it('fails a DNS name the agent cannot resolve, with the zone to fix', () => {
    const outcome = judgeUpstreamAuth({ zone: 'eu', url: 'https://kasm-internal.example.com/api/__healthcheck', route: { via: 'host' }, curl: { ...NO_NAME, stderr: 'curl: (6) Could not resolve host: kasm-internal.example.com' }, webappCertificates: [] });
    assert.equal(outcome.status, 'fail');
    assert.equal(outcome.summary, 'https://kasm-internal.example.com/api/__healthcheck: the host name does not resolve from here (Could not resolve host: kasm-internal.example.com) (curl exit 6)');
    assert.equal(outcome.remediation, `the name does not resolve from this server: add it to the internal DNS (or /etc/hosts), or use an address this server can resolve. ${upstreamAuthFix('eu')}`);
  });

  it('warns of an inspecting device on an address outside Docker', () => {
    const outcome = judgeUpstreamAuth({
      zone: 'default',
      url: 'https://10.0.1.10/api/__healthcheck',
      route: { via: 'host' },
      curl: OK,
      agentCertificate: { subject: 'CN=10.0.1.10', issuer: 'CN=Example Corp TLS Inspection CA' },
      webappCertificates: [{ name: 'webapp-1', certificate: { subject: 'CN=kasm', issuer: 'CN=kasm' } }],
    });
    assert.equal(outcome.status, 'warn');
    assert.match(outcome.summary, /^https:\/\/10\.0\.1\.10\/api\/__healthcheck shows this agent a certificate issued by "CN=Example Corp TLS Inspection CA", but WebApp server webapp-1 gets one issued by "CN=kasm"/);
  });
});

describe('worstOutcome', () => {
  it('the first failure, else the first warning, else every pass', () => {
    const pass = { status: 'pass', summary: 'a ok', evidence: { a: 1 } } as const;
    const warn = { status: 'warn', summary: 'b odd' } as const;
    const fail = { status: 'fail', summary: 'c down' } as const;
    assert.deepEqual(worstOutcome([pass, warn, fail]), fail);
    assert.deepEqual(worstOutcome([pass, warn]), warn);
    assert.deepEqual(worstOutcome([pass, { ...pass, summary: 'd ok', evidence: { d: 1 } }]), { status: 'pass', summary: 'a ok; d ok', evidence: { checked: [{ a: 1 }, { d: 1 }] } });
  });
});

describe('judgeWebsocketLog', () => {
  const base = { wanted: '/desktop/0b0e/vnc/websockify', agents: ['agent-1', 'agent-2'], since: new Date('2026-12-06T10:00:00.000Z'), unreadable: [] };
  const line = '172.18.0.1 - - [06/Dec/2026:10:00:05 +0000] "GET /desktop/0b0e/vnc/websockify HTTP/1.1" 101 1094 "-" "Mozilla/5.0" "203.0.113.9"';

  it('passes the 101 line with its bytes', () => {
    assert.deepEqual(judgeWebsocketLog({ ...base, found: { host: 'agent-1', line, status: 101, bytes: 1094 } }), { status: 'pass', summary: 'agent-1: websockify 101, 1094 bytes' });
  });

  it("fails another status as the agent's refusal", () => {
    assert.deepEqual(judgeWebsocketLog({ ...base, found: { host: 'agent-1', line, status: 500, bytes: 0 } }), {
      status: 'fail',
      summary: `the agent's kasm_proxy answered the websockify with 500 (agent-1: ${line})`,
      remediation: 'The agent refused the stream: read the agent kasm_proxy error log and api.internal-auth.',
      hop: 'agent',
    });
  });

  it('fails no line as a websocket that never reached the agent', () => {
    assert.deepEqual(judgeWebsocketLog(base), { status: 'fail', summary: 'no GET /desktop/0b0e/vnc/websockify line in kasm_proxy on agent-1, agent-2 since 2026-12-06T10:00:00.000Z: the websocket never reached the agent' });
  });

  it('says "not known" when a log could not be read, retried only after a timeout', () => {
    const verdict = judgeWebsocketLog({ ...base, unreadable: [{ host: 'agent-2', why: 'docker logs timed out after 15000 ms', timedOut: true }] });
    assert.deepEqual(verdict, {
      status: 'fail',
      summary: "kasm_proxy's log could not be read on agent-2 (docker logs timed out after 15000 ms), so whether the websockify reached the agent is not known",
      remediation: UNREAD_FIX,
      hop: 'agent',
      transient: true,
    });
  });
});

describe('judgeApiHealth', () => {
  it('passes {"ok": true} with its time', () => {
    assert.deepEqual(judgeApiHealth({ status: 200, text: '{"ok": true}', body: { ok: true }, server: 'nginx', ms: 181.4 }), { status: 'pass', summary: '/api/__healthcheck answered {"ok": true} in 181 ms' });
  });

  it("fails a 502 to 504 as kasm_api down or out of kasm_proxy's reach, with the error page named", () => {
    const page = '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n';
    assert.deepEqual(judgeApiHealth({ status: 502, text: page, body: undefined, server: 'nginx/1.22.1', ms: 3 }), {
      status: 'fail',
      summary: '/api/__healthcheck answered 502 Bad Gateway from nginx (an HTML error page): kasm_api is down or kasm_proxy cannot reach it',
    });
  });

  it('fails any other answer, and a 200 that is not exactly {"ok": true}', () => {
    assert.deepEqual(judgeApiHealth({ status: 200, text: '{"ok": false}', body: { ok: false }, ms: 3 }), { status: 'fail', summary: '/api/__healthcheck answered HTTP 200: {"ok": false}, expected HTTP 200 {"ok": true}' });
    assert.equal(judgeApiHealth({ status: 200, text: '{"ok": true, "x": 1}', body: { ok: true, x: 1 }, ms: 3 }).status, 'fail');
    assert.deepEqual(judgeApiHealth({ status: 403, text: '', body: undefined, server: 'BigIP', ms: 3 }), { status: 'fail', summary: '/api/__healthcheck answered HTTP 403 with an empty body from BigIP, expected HTTP 200 {"ok": true}' });
  });
});

describe('judgeLocalConnectivity and a failed docker ps', () => {
  const evidence = { url: 'https://10.0.1.10:443/api/__healthcheck' };
  const refused = classifyCurl({ exitCode: 7, stdout: '\n000', stderr: "curl: (7) Failed to connect to 10.0.1.10 port 443 after 0 ms: Couldn't connect to server" });

  it('warns when the server shows no user-facing address to curl', () => {
    assert.deepEqual(judgeLocalConnectivity({ evidence: {} }), { status: 'warn', summary: 'no user-facing IPv4 address found in ip addr (loopback, docker and bridge interfaces are skipped)', evidence: {} });
  });

  it('names a stale kasm_proxy with the restart in order, and what it explains', () => {
    const stale = { summary: 'kasm_proxy sends to 172.18.0.4, an address kasm_api no longer has', evidence: 'connect() failed (113: No route to host) while connecting to upstream' };
    assert.deepEqual(judgeLocalConnectivity({ url: evidence.url, curl: refused, evidence, stale }), {
      status: 'fail',
      summary: stale.summary,
      remediation: STALE_PROXY_FIX,
      evidence: { ...evidence, proxyError: stale.evidence },
      explains: ['api.health', 'api.session-create'],
    });
  });

  it('otherwise judges the curl', () => {
    const outcome = judgeLocalConnectivity({ url: evidence.url, curl: refused, evidence });
    assert.equal(outcome.status, 'fail');
    assert.equal(outcome.summary, "curl https://10.0.1.10:443/api/__healthcheck from the server itself failed: the TCP connection could not be made (Failed to connect to 10.0.1.10 port 443 after 0 ms: Couldn't connect to server)");
  });

  it('fails a docker ps that itself failed, with its error', () => {
    assert.deepEqual(judgeContainers({ role: 'agent', roles: ['agent'], containers: [], unparsed: 0, port: 443, failed: { exitCode: 1, stderr: 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n' } }), {
      status: 'fail',
      summary: 'docker ps -a failed (exit 1): Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?',
    });
  });
});
