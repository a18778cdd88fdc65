// The SSH layer against the lab's SSH hosts: the allow-list renders exactly what the guide runs and nothing else,
// host keys are strict, every failure mode has its code and a message that says what to do, and nothing waits past
// its timeout.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import ssh2 from 'ssh2';
import type { Connection, ParsedKey } from 'ssh2';
import { renderCommand, sudoersRule, type RemoteCommand } from '../../helpers/probes/remote-commands.ts';
import { fingerprintOf, SshError, SshHost, SshPool, type SshConnectOptions } from '../../helpers/probes/ssh.ts';
import { installHostCommands } from '../../lab/host/install.ts';
import { generateKey, startSshHosts, type SshHostsHandle } from '../../lab/ssh.ts';
import { createContainer, paths, writeJson, type ContainerState, type HostState } from '../../lab/state.ts';

const { Server, utils } = ssh2;
const SESSION = 'synthetic_1a2b3c4d';
const SESSION_HOSTNAME = '1a2b3c4d5e6f';
const XVNC = 'Xvnc KasmVNC 1.3.2.b2a3e4e3e4c7d8f9a0b1c2d3e4f5a6b7c8d9e0f1 - built Jun 12 2024 09:41:27';
const VNC_LOG = ' 2026-11-24 18:59:00,123 [INFO] websocket 1: got client connection from 127.0.0.1\n';

const webapp: HostState = { id: 'webapp-1', role: 'webapp', hostname: 'kasm-webapp-1', ip: '127.0.0.11', proxyPort: 8443, proxyListening: true, sshPort: 0, firewall: { ufw: 'active', blockedPorts: [] } };
const agent: HostState = { ...webapp, id: 'agent-1', role: 'agent', hostname: 'kasm-agent-1', ip: '127.0.0.21', firewall: { ufw: 'inactive', blockedPorts: [] } };

function container(fields: Partial<ContainerState> & Pick<ContainerState, 'id' | 'name' | 'image' | 'command'>): ContainerState {
  const created = new Date(Date.now() - 86_400_000).toISOString();
  return { created, state: 'running', health: null, startedAt: created, ports: '', hostname: fields.id, env: {}, ...fields };
}

const hasProgram = (name: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

const sudo = { sudo: true };
const bare = { sudo: false };

function expectNotAllowed(command: unknown, pattern: RegExp): void {
  assert.throws(
    () => renderCommand(command as RemoteCommand, bare),
    (error: Error & { code?: string }) => {
      assert.equal(error.code, 'SSH_COMMAND_NOT_ALLOWED');
      assert.match(error.message, pattern);
      return true;
    },
  );
}

async function expectSshError(promise: Promise<unknown>, code: string, withinMs: number, check: (error: SshError) => void = () => undefined): Promise<SshError> {
  const started = performance.now();
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  const elapsed = performance.now() - started;
  assert.ok(caught instanceof SshError, `expected an SshError ${code}, got ${caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.ok(elapsed < withinMs, `${code} took ${Math.round(elapsed)} ms (limit ${withinMs} ms)`);
  check(caught);
  return caught;
}

interface Listening {
  port: number;
  close(): Promise<void>;
}

async function waitUntil(condition: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Accepts TCP and never says a word, like a port a firewall or a dead service holds open. */
async function silentServer(): Promise<Listening & { open(): number }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    // Read and ignore: without a reader the peer's FIN would never surface as 'close'.
    socket.resume();
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    open: () => sockets.size,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

async function closedPort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A TCP relay in front of a lab host that counts the connections it carries. */
async function countingRelay(target: { host: string; port: number }): Promise<Listening & { accepted(): number }> {
  let accepted = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    accepted++;
    const upstream = net.connect(target.port, target.host);
    for (const s of [socket, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => (s === socket ? upstream : socket).destroy());
    }
    socket.pipe(upstream).pipe(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    accepted: () => accepted,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

type KeyType = 'ed25519' | 'rsa' | 'ecdsa';

/**
 * A plain ssh2 server: public-key login with the lab client key, host keys of the given types, and direct-tcpip
 * forwarding. The lab's hosts refuse forwarding (exec only), so the jump-host path needs it; the key types exercise
 * known_hosts entries other than ed25519.
 */
async function startSshServer(clientKey: ParsedKey, types: KeyType[] = ['ed25519']): Promise<Listening & { fingerprint: string; keys: Record<string, { line: string; fingerprint: string }> }> {
  const generate = (type: KeyType) => (type === 'rsa' ? utils.generateKeyPairSync('rsa', { bits: 2048 }) : type === 'ecdsa' ? utils.generateKeyPairSync('ecdsa', { bits: 256 }) : generateKey());
  const pairs = types.map(generate);
  const keys = Object.fromEntries(
    pairs.map((pair, index) => {
      const parsed = utils.parseKey(pair.public) as ParsedKey;
      return [types[index]!, { line: `${parsed.type} ${parsed.getPublicSSH().toString('base64')}`, fingerprint: fingerprintOf(parsed.getPublicSSH()) }];
    }),
  );
  const clients = new Set<Connection>();
  const server = new Server({ hostKeys: pairs.map((pair) => pair.private) }, (client) => {
    clients.add(client);
    client.on('error', () => undefined);
    client.on('close', () => clients.delete(client));
    client.on('authentication', (context) => {
      const known = context.method === 'publickey' && context.key.data.equals(clientKey.getPublicSSH());
      if (!known) return context.reject(['publickey']);
      if (context.signature && context.blob && clientKey.verify(context.blob, context.signature, context.hashAlgo) !== true) return context.reject(['publickey']);
      context.accept();
    });
    client.on('ready', () => {
      client.on('tcpip', (accept, reject, info) => {
        const upstream = net.connect(info.destPort, info.destIP);
        upstream.once('error', () => reject?.());
        upstream.once('connect', () => {
          const channel = accept();
          channel.on('error', () => undefined);
          channel.pipe(upstream).pipe(channel);
        });
      });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    fingerprint: keys[types[0]!]!.fingerprint,
    keys,
    close: async () => {
      for (const client of clients) client.end();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function hashedName(name: string): string {
  const salt = randomBytes(20);
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

describe('remote command allow-list', () => {
  const since = new Date('2026-11-24T17:00:00.000Z');
  const until = new Date('2026-11-24T18:00:00.000Z');

  it('renders docker ps as JSON lines', () => {
    assert.equal(renderCommand({ kind: 'docker-ps' }, bare), `docker ps -a --no-trunc --format '{{json .}}'`);
  });

  it('renders docker ps as the table the guide shows', () => {
    assert.equal(renderCommand({ kind: 'docker-ps-table' }, bare), 'docker ps -a');
  });

  it('renders docker logs with --since, an optional --until, and stderr merged', () => {
    assert.equal(renderCommand({ kind: 'docker-logs', container: 'kasm_api', since }, bare), `docker logs --since '2026-11-24T17:00:00.000Z' 'kasm_api' 2>&1`);
    assert.equal(renderCommand({ kind: 'docker-logs', container: 'kasm_api', since, until }, bare), `docker logs --since '2026-11-24T17:00:00.000Z' --until '2026-11-24T18:00:00.000Z' 'kasm_api' 2>&1`);
  });

  it('renders docker logs with --tail, which docker reads back from the end whatever the log size', () => {
    assert.equal(renderCommand({ kind: 'docker-logs', container: 'kasm_proxy', since, tail: 20000 }, bare), `docker logs --since '2026-11-24T17:00:00.000Z' --tail 20000 'kasm_proxy' 2>&1`);
    expectNotAllowed({ kind: 'docker-logs', container: 'kasm_proxy', since, tail: 0 }, /^docker-logs: tail 0 is not allowed: use a whole number of lines from 1 to 10000000/);
    expectNotAllowed({ kind: 'docker-logs', container: 'kasm_proxy', since, tail: 2.5 }, /tail 2.5 is not allowed/);
  });

  it('renders a container file read without a TTY, absolute or under the container home', () => {
    assert.equal(renderCommand({ kind: 'docker-exec-read', container: SESSION, path: '/home/kasm-user/.vnc/x:1.log' }, bare), `docker exec '${SESSION}' cat -- '/home/kasm-user/.vnc/x:1.log'`);
    assert.equal(renderCommand({ kind: 'docker-exec-read', container: SESSION, path: '~/.vnc/x:1.log' }, bare), `docker exec '${SESSION}' sh -c 'cat -- "$HOME/$1"' sh '.vnc/x:1.log'`);
    assert.equal(renderCommand({ kind: 'docker-exec-read', container: SESSION, path: '~/.vnc/x:1.log', maxBytes: 4096 }, bare), `docker exec '${SESSION}' sh -c 'tail -c 4096 -- "$HOME/$1"' sh '.vnc/x:1.log'`);
  });

  it('renders a container directory listing, absolute or under the container home', () => {
    assert.equal(renderCommand({ kind: 'docker-exec-list', container: SESSION, dir: '/home/kasm-user/.vnc' }, bare), `docker exec '${SESSION}' ls -1t -- '/home/kasm-user/.vnc'`);
    assert.equal(renderCommand({ kind: 'docker-exec-list', container: SESSION, dir: '~/.vnc' }, bare), `docker exec '${SESSION}' sh -c 'ls -1t -- "$HOME/$1"' sh '.vnc'`);
  });

  it('renders the Xvnc version query with its stderr banner merged', () => {
    assert.equal(renderCommand({ kind: 'xvnc-version', container: SESSION }, bare), `docker exec '${SESSION}' Xvnc -version 2>&1`);
  });

  it('renders docker inspect of the container environment', () => {
    assert.equal(renderCommand({ kind: 'docker-inspect-env', container: SESSION }, bare), `docker inspect --format '{{json .Config.Env}}' '${SESSION}'`);
    assert.equal(renderCommand({ kind: 'docker-inspect-networks', container: 'kasm_api' }, bare), `docker inspect --format '{{json .NetworkSettings.Networks}}' 'kasm_api'`);
  });

  it('renders ss, ip, ufw and iptables', () => {
    assert.equal(renderCommand({ kind: 'ss-listening' }, bare), 'ss -ltn');
    assert.equal(renderCommand({ kind: 'ip-addr' }, bare), 'ip -o addr');
    assert.equal(renderCommand({ kind: 'ufw-status' }, bare), 'ufw status verbose');
    assert.equal(renderCommand({ kind: 'iptables-rules' }, bare), 'iptables -S');
  });

  it('renders curl with a time limit, the body, then the status on its own line', () => {
    assert.equal(renderCommand({ kind: 'curl-health', url: 'https://10.0.1.10:443/api/__healthcheck', timeoutSeconds: 5 }, bare), `curl -sS -k -g --max-time 5 -o - -w '\\n%{http_code}' 'https://10.0.1.10/api/__healthcheck'`);
    assert.equal(renderCommand({ kind: 'curl-health', url: 'http://[::1]:8443/agent/__healthcheck?a=1&b=2', timeoutSeconds: 120 }, bare), `curl -sS -k -g --max-time 120 -o - -w '\\n%{http_code}' 'http://[::1]:8443/agent/__healthcheck?a=1&b=2'`);
  });

  it('puts sudo -n before docker, ufw and iptables only', () => {
    assert.equal(renderCommand({ kind: 'docker-ps-table' }, sudo), 'sudo -n docker ps -a');
    assert.equal(renderCommand({ kind: 'docker-logs', container: 'kasm_api', since }, sudo), `sudo -n docker logs --since '2026-11-24T17:00:00.000Z' 'kasm_api' 2>&1`);
    assert.equal(renderCommand({ kind: 'xvnc-version', container: SESSION }, sudo), `sudo -n docker exec '${SESSION}' Xvnc -version 2>&1`);
    assert.equal(renderCommand({ kind: 'ufw-status' }, sudo), 'sudo -n ufw status verbose');
    assert.equal(renderCommand({ kind: 'iptables-rules' }, sudo), 'sudo -n iptables -S');
    assert.equal(renderCommand({ kind: 'ss-listening' }, sudo), 'ss -ltn');
    assert.equal(renderCommand({ kind: 'ip-addr' }, sudo), 'ip -o addr');
    assert.equal(renderCommand({ kind: 'curl-health', url: 'https://a.example/', timeoutSeconds: 1 }, sudo), `curl -sS -k -g --max-time 1 -o - -w '\\n%{http_code}' 'https://a.example/'`);
    assert.equal(renderCommand({ kind: 'curl-cert', url: 'https://10.0.1.10/api/__healthcheck', timeoutSeconds: 5 }, sudo), `curl -sS -k -g -v --max-time 5 -o /dev/null 'https://10.0.1.10/api/__healthcheck' 2>&1`);
    expectNotAllowed({ kind: 'curl-cert', url: "https://a.example/'; id; '", timeoutSeconds: 5 }, /^curl-cert: url .* is not allowed/);
    // A name only Docker's resolver knows (the Upstream Auth Address `proxy`), taken to its address on the network.
    const resolve = { host: 'proxy', port: 443, address: '172.18.0.3' };
    assert.equal(renderCommand({ kind: 'curl-health', url: 'https://proxy/api/__healthcheck', timeoutSeconds: 5, resolve }, sudo), `curl -sS -k -g --max-time 5 --resolve 'proxy:443:172.18.0.3' -o - -w '\\n%{http_code}' 'https://proxy/api/__healthcheck'`);
    assert.equal(renderCommand({ kind: 'curl-cert', url: 'https://proxy/api/__healthcheck', timeoutSeconds: 5, resolve }, sudo), `curl -sS -k -g -v --max-time 5 --resolve 'proxy:443:172.18.0.3' -o /dev/null 'https://proxy/api/__healthcheck' 2>&1`);
    expectNotAllowed({ kind: 'curl-health', url: 'https://proxy/', timeoutSeconds: 5, resolve: { ...resolve, host: "proxy'; id; '" } }, /^curl-health: resolve host .* is not allowed: use a host name/);
    expectNotAllowed({ kind: 'curl-health', url: 'https://proxy/', timeoutSeconds: 5, resolve: { ...resolve, port: 0 } }, /resolve port 0 is not allowed: use a port from 1 to 65535/);
    expectNotAllowed({ kind: 'curl-health', url: 'https://proxy/', timeoutSeconds: 5, resolve: { ...resolve, address: '172.18.0.3 -o /etc/passwd' } }, /resolve address .* is not allowed: use an IPv4 address/);
  });

  it('rejects shell in container names', () => {
    expectNotAllowed({ kind: 'docker-logs', container: 'kasm_api; rm -rf /', since }, /^docker-logs: container "kasm_api; rm -rf \/" is not allowed: use a docker container name/);
    expectNotAllowed({ kind: 'docker-inspect-env', container: '$(id)' }, /container "\$\(id\)" is not allowed/);
    expectNotAllowed({ kind: 'docker-inspect-networks', container: 'kasm_api --format x' }, /container "kasm_api --format x" is not allowed/);
    expectNotAllowed({ kind: 'xvnc-version', container: '`id`' }, /container "`id`" is not allowed/);
    expectNotAllowed({ kind: 'docker-exec-read', container: '-it', path: '/etc/hostname' }, /container "-it" is not allowed/);
  });

  it('rejects traversal, quotes, substitutions and spaces in paths', () => {
    expectNotAllowed({ kind: 'docker-exec-read', container: SESSION, path: '../etc/shadow' }, /^docker-exec-read: path "\.\.\/etc\/shadow" is not allowed: use an absolute path or ~\/relative path without "\.\."/);
    expectNotAllowed({ kind: 'docker-exec-read', container: SESSION, path: '/home/../etc/shadow' }, /path "\/home\/\.\.\/etc\/shadow" is not allowed/);
    expectNotAllowed({ kind: 'docker-exec-read', container: SESSION, path: '~/../../etc/shadow' }, /is not allowed/);
    expectNotAllowed({ kind: 'docker-exec-read', container: SESSION, path: "/tmp/a'b" }, /is not allowed/);
    expectNotAllowed({ kind: 'docker-exec-read', container: SESSION, path: '/tmp/"a"' }, /is not allowed/);
    expectNotAllowed({ kind: 'docker-exec-read', container: SESSION, path: '~/$(id)' }, /path "~\/\$\(id\)" is not allowed/);
    expectNotAllowed({ kind: 'docker-exec-read', container: SESSION, path: '/tmp/`id`' }, /is not allowed/);
    expectNotAllowed({ kind: 'docker-exec-read', container: SESSION, path: '~/.vnc/x:1.log', maxBytes: 0 }, /^docker-exec-read: maxBytes 0 is not allowed: use a whole number of bytes from 1 to 1 GiB$/);
    expectNotAllowed({ kind: 'docker-exec-read', container: SESSION, path: '~/.vnc/x:1.log', maxBytes: 1.5 }, /maxBytes 1\.5 is not allowed/);
    expectNotAllowed({ kind: 'docker-exec-read', container: SESSION, path: '/tmp/a b' }, /is not allowed/);
    expectNotAllowed({ kind: 'docker-exec-read', container: SESSION, path: '/tmp/a\nb' }, /path "\/tmp\/a\\nb" is not allowed/);
    expectNotAllowed({ kind: 'docker-exec-read', container: SESSION, path: 'relative/file' }, /is not allowed/);
    expectNotAllowed({ kind: 'docker-exec-read', container: SESSION, path: '~root/.ssh/id_rsa' }, /is not allowed/);
    expectNotAllowed({ kind: 'docker-exec-read', container: SESSION, path: '~' }, /name a file under ~\//);
    expectNotAllowed({ kind: 'docker-exec-list', container: SESSION, dir: '/tmp/*' }, /dir "\/tmp\/\*" is not allowed/);
  });

  it('rejects non-http URLs, credentials and shell characters in URLs', () => {
    expectNotAllowed({ kind: 'curl-health', url: 'file:///etc/passwd', timeoutSeconds: 5 }, /^curl-health: url "file:\/\/\/etc\/passwd" is not allowed: .* \(got file:\)$/);
    expectNotAllowed({ kind: 'curl-health', url: 'https://admin:hunter2@10.0.1.10/', timeoutSeconds: 5 }, /^curl-health: url "https:\/\/\*\*\*@10\.0\.1\.10" is not allowed: .*credentials must not reach/);
    assert.throws(() => renderCommand({ kind: 'curl-health', url: 'https://admin:hunter2@10.0.1.10/', timeoutSeconds: 5 }, bare), (error: Error) => !error.message.includes('hunter2'));
    expectNotAllowed({ kind: 'curl-health', url: "https://a.example/'; id; '", timeoutSeconds: 5 }, /is not allowed/);
    expectNotAllowed({ kind: 'curl-health', url: 'https://a.example/$(id)', timeoutSeconds: 5 }, /is not allowed/);
    expectNotAllowed({ kind: 'curl-health', url: 'https://a.example/ -o /etc/passwd', timeoutSeconds: 5 }, /is not allowed/);
    expectNotAllowed({ kind: 'curl-health', url: 'gopher://a.example/', timeoutSeconds: 5 }, /\(got gopher:\)/);
    expectNotAllowed({ kind: 'curl-health', url: 'not a url', timeoutSeconds: 5 }, /is not allowed/);
  });

  it('rejects time limits outside 1-120 whole seconds and invalid dates', () => {
    expectNotAllowed({ kind: 'curl-health', url: 'https://a.example/', timeoutSeconds: 0 }, /timeoutSeconds 0 is not allowed: use a whole number from 1 to 120/);
    expectNotAllowed({ kind: 'curl-health', url: 'https://a.example/', timeoutSeconds: 121 }, /timeoutSeconds 121/);
    expectNotAllowed({ kind: 'curl-health', url: 'https://a.example/', timeoutSeconds: 1.5 }, /timeoutSeconds 1.5/);
    expectNotAllowed({ kind: 'docker-logs', container: 'kasm_api', since: new Date('nope') }, /since Invalid Date is not allowed: use a valid Date/);
    expectNotAllowed({ kind: 'docker-logs', container: 'kasm_api', since: '1h' }, /since "1h" is not allowed: use a valid Date/);
    expectNotAllowed({ kind: 'docker-logs', container: 'kasm_api', since: until, until: since }, /until "2026-11-24T17:00:00.000Z" is not allowed: use a time after since/);
  });

  it('rejects every kind outside the list', () => {
    expectNotAllowed({ kind: 'shell', command: 'id' }, /^shell: command kind "shell" is not allowed: only the read-only commands/);
    expectNotAllowed({}, /command kind undefined is not allowed/);
    expectNotAllowed('docker ps', /command "docker ps" is not allowed: pass a RemoteCommand object/);
    expectNotAllowed(null, /command null is not allowed/);
  });
});

describe('the sudoers rule', () => {
  it('is the one the README shows users to copy', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const block = /```sudoers\n([\s\S]*?)```/.exec(readme)?.[1];
    assert.equal(block, sudoersRule('kasm-synthetics'));
  });

  it('names every privileged command the suite renders, with nothing a value could widen', () => {
    const rule = sudoersRule('u');
    for (const program of ['/usr/bin/docker ps -a', '/usr/bin/docker ^logs', '/usr/bin/docker ^exec', '/usr/bin/docker ^inspect', '/usr/sbin/ufw status verbose', '/usr/sbin/iptables -S']) assert.ok(rule.includes(program), program);
    // A sudoers glob's `*` also matches spaces, so further arguments; only the anchored regular expressions repeat.
    const commands = rule.split('\n').filter((line) => line.includes('/usr/'));
    for (const line of commands) assert.ok(line.includes(' ^') ? /\$, \\$|\$$/.test(line) : !/[*?[]/.test(line), line);
  });
});

describe('SshHost and SshPool against lab SSH hosts', () => {
  let root: string;
  let lab: SshHostsHandle;
  let hostA: SshHostsHandle['hosts'][number];
  let hostB: SshHostsHandle['hosts'][number];
  let silent: Listening;
  const since = new Date(Date.now() - 60 * 60_000);
  const opened: SshHost[] = [];

  const optionsFor = (target: { host: string; port: number }, extra: Partial<SshConnectOptions> = {}): SshConnectOptions => ({
    host: target.host,
    port: target.port,
    user: lab.user,
    keyFile: lab.clientKeyFile,
    knownHostsFile: lab.knownHostsFile,
    sudo: true,
    connectTimeoutMs: 3000,
    commandTimeoutMs: 10_000,
    ...extra,
  });
  const connect = async (options: SshConnectOptions) => {
    const host = await SshHost.connect(options);
    opened.push(host);
    return host;
  };
  const knownHostsWith = (lines: string[]) => {
    const file = join(root, `known_hosts.${randomBytes(4).toString('hex')}`);
    writeFileSync(file, lines.length ? `${lines.join('\n')}\n` : '');
    return file;
  };
  const labKeyOf = (target: { host: string; port: number }) => readFileSync(lab.knownHostsFile, 'utf8').split('\n').find((line) => line.startsWith(`[${target.host}]:${target.port} `))!.split(' ').slice(1).join(' ');
  const clientKey = () => utils.parseKey(readFileSync(lab.clientKeyFile)) as ParsedKey;
  const otherKey = () => {
    const parsed = generateKey().key;
    return { line: `ssh-ed25519 ${parsed.getPublicSSH().toString('base64')}`, fingerprint: fingerprintOf(parsed.getPublicSSH()) };
  };

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'ssh-probe-'));
    writeJson(paths.faults(root), []);
    mkdirSync(paths.host(root, webapp.id), { recursive: true });
    writeJson(paths.hostFile(root, webapp.id), webapp);
    const api = createContainer(root, webapp.id, container({ id: '5759e5692a85', name: 'kasm_api', image: 'kasmweb/api:1.16.0', command: 'python3 api_server.py' }));
    api.write('2026-11-24 18:00:00,000 [INFO] client_api_server: GET /api/__healthcheck', new Date(Date.now() - 2 * 60 * 60_000));
    api.write('2026-11-24 18:30:00,000 [DEBUG] client_api_server: request_kasm {"session_token": "abc123def", "x": 1} ?session_token=abc', new Date(Date.now() - 10 * 60_000));
    mkdirSync(paths.host(root, agent.id), { recursive: true });
    writeJson(paths.hostFile(root, agent.id), agent);
    createContainer(root, agent.id, container({ id: SESSION_HOSTNAME, name: SESSION, image: 'kasmweb/ubuntu-jammy-desktop:1.16.0', command: '/dockerstartup/vnc_startup.sh', env: { HOME: '/home/kasm-user', VNC_PW: 'hunter2-vnc' }, xvncVersion: XVNC }));
    const vncDir = join(paths.container(root, agent.id, SESSION), 'root', 'home', 'kasm-user', '.vnc');
    mkdirSync(vncDir, { recursive: true });
    writeFileSync(join(vncDir, `${SESSION_HOSTNAME}:1.log`), VNC_LOG);
    await installHostCommands(root);
    lab = await startSshHosts({ root, hosts: [webapp, agent] });
    [hostA, hostB] = [lab.hosts[0]!, lab.hosts[1]!];
    silent = await silentServer();
  });

  after(async () => {
    await Promise.all(opened.map((host) => host.close()));
    await silent?.close();
    await lab?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  describe('host keys', () => {
    it('connects with known_hosts and runs docker ps', async () => {
      const host = await connect(optionsFor(hostA));
      assert.deepEqual(host.hostKey, { fingerprint: hostA.fingerprint, type: 'ssh-ed25519', verifiedBy: 'known_hosts' });
      const result = await host.run({ kind: 'docker-ps' });
      assert.equal(result.exitCode, 0, result.stderr);
      assert.equal(result.command, `sudo -n docker ps -a --no-trunc --format '{{json .}}'`);
      assert.deepEqual(result.stdout.trim().split('\n').map((line) => (JSON.parse(line) as { Names: string }).Names), ['kasm_api']);
      assert.equal(result.timedOut, false);
      assert.equal(result.truncated, false);
      assert.equal(host.transcript.length, 1);
    });

    it('connects with a pinned fingerprint and no known_hosts', async () => {
      const host = await connect(optionsFor(hostA, { knownHostsFile: undefined, fingerprints: [hostA.fingerprint] }));
      assert.equal(host.hostKey.verifiedBy, 'pinned');
      assert.equal((await host.run({ kind: 'ss-listening' })).exitCode, 0);
    });

    it('reads hashed entries, comma lists and wildcards in known_hosts', async () => {
      const key = labKeyOf(hostA);
      for (const lines of [[`${hashedName(`[${hostA.host}]:${hostA.port}`)} ${key}`], [`bastion.example,[${hostA.host}]:${hostA.port} ${key}`], [`[${hostA.host}]:* ${key}`]]) {
        const host = await connect(optionsFor(hostA, { knownHostsFile: knownHostsWith(['# a comment', '', ...lines]) }));
        assert.equal(host.hostKey.verifiedBy, 'known_hosts', lines[0]);
      }
    });

    it('asks for the key type known_hosts holds, for rsa and ecdsa as for ed25519', async () => {
      const server = await startSshServer(clientKey(), ['ed25519', 'rsa', 'ecdsa']);
      try {
        for (const type of ['rsa', 'ecdsa', 'ed25519'] as const) {
          const file = knownHostsWith([`[127.0.0.1]:${server.port} ${server.keys[type]!.line}`]);
          const host = await connect(optionsFor({ host: '127.0.0.1', port: server.port }, { knownHostsFile: file }));
          assert.equal(host.hostKey.fingerprint, server.keys[type]!.fingerprint, type);
          assert.equal(host.hostKey.verifiedBy, 'known_hosts');
          await host.close();
        }
      } finally {
        await server.close();
      }
    });

    it('refuses a key that differs from known_hosts, naming both fingerprints', async () => {
      const other = otherKey();
      const file = knownHostsWith([`[${hostA.host}]:${hostA.port} ${other.line}`]);
      await expectSshError(SshHost.connect(optionsFor(hostA, { knownHostsFile: file })), 'SSH_HOST_KEY_MISMATCH', 3000, (error) => {
        assert.equal(error.fingerprint, hostA.fingerprint);
        assert.deepEqual(error.expected, [`${other.fingerprint} (ssh-ed25519)`]);
        assert.match(error.message, new RegExp(`HOST KEY MISMATCH, the server presented ${escape(hostA.fingerprint)} \\(ssh-ed25519\\) but ${escape(file)} \\(line 1\\) expects ${escape(other.fingerprint)}`));
        assert.match(error.message, /man-in-the-middle/);
        assert.match(error.hint, new RegExp(`ssh-keygen -R '\\[${escape(hostA.host)}\\]:${hostA.port}'`));
      });
    });

    it('refuses a key that differs from the pin, even when known_hosts has it', async () => {
      const other = otherKey();
      await expectSshError(SshHost.connect(optionsFor(hostA, { fingerprints: [other.fingerprint] })), 'SSH_HOST_KEY_MISMATCH', 3000, (error) => {
        assert.match(error.message, new RegExp(`presented ${escape(hostA.fingerprint)} .* but the pinned fingerprint expects ${escape(other.fingerprint)}`));
      });
    });

    it('refuses a host missing from known_hosts, with the key seen and how to add or pin it', async () => {
      const file = knownHostsWith([]);
      await expectSshError(SshHost.connect(optionsFor(hostA, { knownHostsFile: file })), 'SSH_HOST_KEY_UNKNOWN', 3000, (error) => {
        assert.equal(error.fingerprint, hostA.fingerprint);
        assert.equal(error.host, `${hostA.host}:${hostA.port}`);
        assert.equal(
          error.message,
          `kasm-admin@${hostA.host}:${hostA.port}: host key ${hostA.fingerprint} (ssh-ed25519) is not in ${file} and no fingerprint is pinned. ` +
            `Verify the key out of band, then either add it: ssh-keyscan -p ${hostA.port} ${hostA.host} >> ${file}, then compare \`ssh-keygen -lf ${file}\` with what the host's owner reads from \`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub\`; ` +
            `or pin it: KASM_SSH_FINGERPRINTS=${hostA.host}=${hostA.fingerprint}`,
        );
      });
    });

    it('connects with the insecure opt-out, and says NOT VERIFIED in the result and a process warning', async () => {
      const warned = once(process, 'warning') as Promise<[Error & { code?: string }]>;
      const host = await connect(optionsFor(hostA, { knownHostsFile: knownHostsWith([]), insecureHostKey: true }));
      assert.deepEqual(host.hostKey, { fingerprint: hostA.fingerprint, type: 'ssh-ed25519', verifiedBy: 'NOT VERIFIED (insecure opt-out)' });
      const [warning] = await warned;
      assert.equal(warning.code, 'KASM_SSH_INSECURE_HOST_KEY');
      assert.match(warning.message, /host key NOT VERIFIED \(insecure opt-out\), accepted anyway: .* is not in /);
      assert.equal((await host.run({ kind: 'ip-addr' })).exitCode, 0);
    });

    it('still reports a verified key when the opt-out is set but known_hosts matches', async () => {
      const host = await connect(optionsFor(hostA, { insecureHostKey: true }));
      assert.equal(host.hostKey.verifiedBy, 'known_hosts');
    });
  });

  describe('connection failures', () => {
    it('a closed port is SSH_UNREACHABLE at once', async () => {
      const port = await closedPort();
      await expectSshError(SshHost.connect(optionsFor({ host: '127.0.0.1', port })), 'SSH_UNREACHABLE', 2000, (error) => {
        assert.match(error.message, new RegExp(`^kasm-admin@127\\.0\\.0\\.1:${port}: cannot connect \\(ECONNREFUSED\\)\\. Check the address and port, that sshd runs on 127\\.0\\.0\\.1`));
      });
    });

    it('a port that accepts TCP but never speaks SSH is SSH_TIMEOUT at connectTimeoutMs', async () => {
      await expectSshError(SshHost.connect(optionsFor({ host: '127.0.0.1', port: silent.port }, { connectTimeoutMs: 800 })), 'SSH_TIMEOUT', 800 + 1000, (error) => {
        assert.match(error.message, /no SSH handshake within 800 ms/);
        assert.match(error.hint, /KASM_TIMEOUT_SSH_MS/);
      });
    });

    it('logs in with a key held by ssh-agent', { skip: !hasProgram('ssh-agent') && 'ssh-agent is not installed' }, async () => {
      const socket = join(root, 'agent.sock');
      const agentProcess = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
      try {
        await waitUntil(() => hasSocket(socket), 'ssh-agent to listen');
        execFileSync('ssh-add', [lab.clientKeyFile], { env: { ...process.env, SSH_AUTH_SOCK: socket }, stdio: 'ignore' });
        const host = await connect(optionsFor(hostA, { keyFile: undefined, agentSocket: socket }));
        assert.equal((await host.run({ kind: 'ip-addr' })).exitCode, 0);
      } finally {
        agentProcess.kill();
      }
    });

    it('computes fingerprints as ssh-keygen -lf does', { skip: !hasProgram('ssh-keygen') && 'ssh-keygen is not installed' }, async () => {
      const host = await connect(optionsFor(hostA));
      const listed = execFileSync('ssh-keygen', ['-lf', lab.knownHostsFile], { encoding: 'utf8' });
      assert.match(listed, new RegExp(`^256 ${escape(host.hostKey.fingerprint)} \\[${escape(hostA.host)}\\]:${hostA.port} \\(ED25519\\)$`, 'm'));
    });

    it('a key the host does not accept is SSH_AUTH', async () => {
      const keyFile = join(root, 'stranger');
      writeFileSync(keyFile, generateKey().private, { mode: 0o600 });
      await expectSshError(SshHost.connect(optionsFor(hostA, { keyFile })), 'SSH_AUTH', 3000, (error) => {
        assert.match(error.message, new RegExp(`the server refused the key ${escape(keyFile)}`));
        assert.match(error.hint, /authorized_keys/);
      });
    });

    it('missing files and settings are SSH_CONFIG before any connection', async () => {
      await expectSshError(SshHost.connect(optionsFor(hostA, { keyFile: join(root, 'nope') })), 'SSH_CONFIG', 500, (error) => assert.match(error.message, /cannot read the private key .*nope \(ENOENT\)/));
      await expectSshError(SshHost.connect(optionsFor(hostA, { knownHostsFile: join(root, 'no_known_hosts') })), 'SSH_CONFIG', 500, (error) => assert.match(error.message, /cannot read known_hosts .*no_known_hosts \(ENOENT\)/));
      await expectSshError(SshHost.connect(optionsFor(hostA, { keyFile: undefined })), 'SSH_CONFIG', 500, (error) => assert.match(error.message, /no key file and no ssh-agent socket/));
      await expectSshError(SshHost.connect(optionsFor(hostA, { fingerprints: ['MD5:aa:bb'] })), 'SSH_CONFIG', 500, (error) => assert.match(error.message, /"MD5:aa:bb" is not SHA256:/));
      await expectSshError(SshHost.connect(optionsFor(hostA, { commandTimeoutMs: 0 })), 'SSH_CONFIG', 500);
      const encrypted = join(root, 'encrypted');
      writeFileSync(encrypted, generateKey({ passphrase: 'correct horse', cipher: 'aes256-ctr', rounds: 16 }).private, { mode: 0o600 });
      await expectSshError(SshHost.connect(optionsFor(hostA, { keyFile: encrypted })), 'SSH_CONFIG', 500, (error) => assert.match(error.hint, /KASM_SSH_PASSPHRASE/));
      await expectSshError(SshHost.connect(optionsFor(hostA, { keyFile: encrypted, passphrase: 'wrong' })), 'SSH_CONFIG', 2000, (error) => assert.match(error.hint, /KASM_SSH_PASSPHRASE/));
      await expectSshError(SshHost.connect(optionsFor(hostA, { keyFile: encrypted, passphrase: 'correct horse' })), 'SSH_AUTH', 3000);
    });
  });

  describe('commands', () => {
    let agentHost: SshHost;

    before(async () => {
      agentHost = await connect(optionsFor(hostB));
    });

    it('reads container files by absolute and ~/ path, lists directories, and asks Xvnc and docker inspect', async () => {
      const absolute = await agentHost.run({ kind: 'docker-exec-read', container: SESSION, path: `/home/kasm-user/.vnc/${SESSION_HOSTNAME}:1.log` });
      assert.deepEqual([absolute.exitCode, absolute.stdout, absolute.stderr], [0, VNC_LOG, '']);
      const home = await agentHost.run({ kind: 'docker-exec-read', container: SESSION, path: `~/.vnc/${SESSION_HOSTNAME}:1.log` });
      assert.deepEqual([home.exitCode, home.stdout, home.stderr], [0, VNC_LOG, '']);
      assert.equal((await agentHost.run({ kind: 'docker-exec-list', container: SESSION, dir: '~/.vnc' })).stdout, `${SESSION_HOSTNAME}:1.log\n`);
      assert.equal((await agentHost.run({ kind: 'docker-exec-list', container: SESSION, dir: '/home/kasm-user/.vnc' })).stdout, `${SESSION_HOSTNAME}:1.log\n`);
      assert.match((await agentHost.run({ kind: 'xvnc-version', container: SESSION })).stdout, new RegExp(`^\\n${escape(XVNC)}\\n`));
      assert.equal((await agentHost.run({ kind: 'docker-inspect-env', container: SESSION })).stdout, '["HOME=/home/kasm-user","VNC_PW=hunter2-vnc"]\n');
    });

    it('keeps raw output for parsing and a redacted copy in the transcript', async () => {
      const host = await connect(optionsFor(hostA));
      const result = await host.run({ kind: 'docker-logs', container: 'kasm_api', since });
      assert.match(result.stdout, /\?session_token=abc\n$/);
      assert.match(result.stdout, /"session_token": "abc123def"/);
      const [recorded] = host.transcript;
      assert.equal(recorded!.stdout, '2026-11-24 18:30:00,000 [DEBUG] client_api_server: request_kasm {"session_token": "[REDACTED]", "x": 1} ?session_token=[REDACTED]\n');
      assert.doesNotMatch(JSON.stringify(host.transcript), /abc/);
      await agentHost.run({ kind: 'docker-inspect-env', container: SESSION });
      assert.doesNotMatch(JSON.stringify(agentHost.transcript), /hunter2-vnc/);
    });

    it('closes the channel at the command timeout, returns timedOut within a second, and the remote command ends', async () => {
      const hanging = await silentServer();
      try {
        // 2 s, so that curl (started by bash on a loaded machine) surely reaches the silent server before the timeout.
        const host = await connect(optionsFor(hostA, { commandTimeoutMs: 2000 }));
        const started = performance.now();
        const running = host.run({ kind: 'curl-health', url: `http://127.0.0.1:${hanging.port}/api/__healthcheck`, timeoutSeconds: 30 });
        await waitUntil(() => hanging.open() === 1, 'curl to reach the silent server');
        const result = await running;
        const elapsed = performance.now() - started;
        assert.equal(result.timedOut, true);
        assert.equal(result.exitCode, null);
        assert.ok(elapsed < 3000, `timed out after ${Math.round(elapsed)} ms`);
        assert.ok(result.durationMs >= 1950 && result.durationMs < 3000, `durationMs ${result.durationMs}`);
        await waitUntil(() => hanging.open() === 0, 'the abandoned curl to be killed');
        assert.equal((await host.run({ kind: 'ss-listening' })).exitCode, 0, 'the connection survives a timed-out command');
        assert.equal((await host.run({ kind: 'ss-listening' }, { timeoutMs: 5000 })).timedOut, false);
      } finally {
        await hanging.close();
      }
    });

    it('stops reading at maxBytes and says the output was truncated', async () => {
      const result = await agentHost.run({ kind: 'docker-ps-table' }, { maxBytes: 40 });
      assert.equal(result.truncated, true);
      assert.equal(result.stdout, 'CONTAINER ID   IMAGE                    '.slice(0, 40));
      assert.equal(Buffer.byteLength(result.stdout) + Buffer.byteLength(result.stderr), 40);
      assert.equal((await agentHost.run({ kind: 'docker-ps-table' })).truncated, false);
    });

    it('runs more commands at once than sshd allows sessions, by queueing them', async () => {
      const results = await Promise.all(Array.from({ length: 12 }, () => agentHost.run({ kind: 'ss-listening' })));
      assert.deepEqual(results.map((r) => r.exitCode), Array(12).fill(0));
    });

    it('turns a sudo password prompt into SSH_SUDO_PASSWORD at once, with the fix', async () => {
      writeJson(paths.faults(root), ['sudo-password']);
      try {
        await expectSshError(agentHost.run({ kind: 'docker-ps' }), 'SSH_SUDO_PASSWORD', 3000, (error) => {
          assert.match(error.message, /sudo wants a password for "sudo -n docker ps -a --no-trunc --format '\{\{json \.\}\}'" \(sudo: a password is required\)/);
          assert.match(error.hint, /NOPASSWD .*KASM_SSH_SUDO=false/);
          assert.equal(error.result?.exitCode, 1);
        });
        await expectSshError(agentHost.run({ kind: 'docker-logs', container: SESSION, since }), 'SSH_SUDO_PASSWORD', 3000);
        const withoutSudo = await connect(optionsFor(hostB, { sudo: false }));
        assert.equal((await withoutSudo.run({ kind: 'docker-ps' })).exitCode, 0);
      } finally {
        writeJson(paths.faults(root), []);
      }
    });

    it('refuses a command outside the allow-list as SSH_COMMAND_NOT_ALLOWED, sending nothing', async () => {
      const before = agentHost.transcript.length;
      await expectSshError(agentHost.run({ kind: 'docker-logs', container: 'kasm_api; rm -rf /', since }), 'SSH_COMMAND_NOT_ALLOWED', 100);
      await expectSshError(agentHost.run({ kind: 'rm' } as unknown as RemoteCommand), 'SSH_COMMAND_NOT_ALLOWED', 100);
      assert.equal(agentHost.transcript.length, before);
    });
  });

  describe('pool and jump host', () => {
    it('shares one connection per host across concurrent and later gets', async () => {
      const relay = await countingRelay(hostA);
      const pool = new SshPool({ user: lab.user, keyFile: lab.clientKeyFile, sudo: true, connectTimeoutMs: 3000, commandTimeoutMs: 10_000 });
      try {
        const target = { host: '127.0.0.1', port: relay.port, fingerprints: [hostA.fingerprint] };
        const [first, second] = await Promise.all([pool.get('webapp-1', target), pool.get('webapp-1', target)]);
        const third = await pool.get('webapp-1', target);
        assert.equal(first, second);
        assert.equal(first, third);
        await Promise.all([first.run({ kind: 'docker-ps' }), third.run({ kind: 'ip-addr' })]);
        assert.equal(relay.accepted(), 1);
        await first.close();
        const reopened = await pool.get('webapp-1', target);
        assert.notEqual(reopened, first);
        assert.equal(relay.accepted(), 2);
      } finally {
        await pool.closeAll();
        await relay.close();
      }
    });

    it('keeps a failed connect failed, so every check on that host fails fast', async () => {
      const pool = new SshPool({ user: lab.user, keyFile: lab.clientKeyFile, sudo: true, connectTimeoutMs: 800, commandTimeoutMs: 10_000 });
      try {
        const first = await expectSshError(pool.get('dead', { host: '127.0.0.1', port: silent.port }), 'SSH_TIMEOUT', 1800);
        const again = await expectSshError(pool.get('dead', { host: '127.0.0.1', port: silent.port }), 'SSH_TIMEOUT', 50);
        assert.equal(again, first);
        await expectSshError(pool.get('incomplete', { host: '127.0.0.1' }), 'SSH_CONFIG', 50);
      } finally {
        await pool.closeAll();
      }
    });

    it('connects to hosts in parallel', async () => {
      const pool = new SshPool({ user: lab.user, keyFile: lab.clientKeyFile, knownHostsFile: lab.knownHostsFile, sudo: true, connectTimeoutMs: 3000, commandTimeoutMs: 10_000 });
      try {
        const hosts = await Promise.all([hostA, hostB].map((h) => pool.get(h.id, { host: h.host, port: h.port })));
        const results = await Promise.all(hosts.map((h) => h.run({ kind: 'docker-ps' })));
        assert.deepEqual(results.map((r) => r.exitCode), [0, 0]);
        assert.notEqual(hosts[0], hosts[1]);
      } finally {
        await pool.closeAll();
      }
    });

    it('reaches host B through a jump host', async () => {
      const jump = await startSshServer(clientKey());
      try {
        const host = await connect(optionsFor(hostB, { jump: optionsFor({ host: '127.0.0.1', port: jump.port }, { knownHostsFile: undefined, fingerprints: [jump.fingerprint] }) }));
        assert.equal(host.hostKey.verifiedBy, 'known_hosts');
        assert.equal(host.hostKey.fingerprint, hostB.fingerprint);
        assert.deepEqual(host.jumpHostKey, { fingerprint: jump.fingerprint, type: 'ssh-ed25519', verifiedBy: 'pinned' });
        const result = await host.run({ kind: 'docker-ps' });
        assert.match(result.stdout, new RegExp(`"Names":"${SESSION}"`));
        await host.close();
        assert.equal(host.connected, false);
      } finally {
        await jump.close();
      }
    });

    it('says SSH_JUMP when the jump host fails, with the jump host cause', async () => {
      const jump = await startSshServer(clientKey());
      try {
        const unknownJump = optionsFor({ host: '127.0.0.1', port: jump.port }, { knownHostsFile: knownHostsWith([]) });
        await expectSshError(SshHost.connect(optionsFor(hostB, { jump: unknownJump })), 'SSH_JUMP', 3000, (error) => {
          assert.equal(error.fingerprint, jump.fingerprint);
          assert.match(error.message, new RegExp(`^jump host kasm-admin@127\\.0\\.0\\.1:${jump.port}: host key ${escape(jump.fingerprint)}`));
          assert.equal((error.cause as SshError).code, 'SSH_HOST_KEY_UNKNOWN');
        });
        // The lab hosts run commands only; as a bastion they refuse to forward.
        await expectSshError(SshHost.connect(optionsFor(hostB, { jump: optionsFor(hostA) })), 'SSH_JUMP', 3000, (error) => {
          assert.match(error.message, new RegExp(`cannot open a tunnel to ${escape(hostB.host)}:${hostB.port}`));
          assert.match(error.hint, /AllowTcpForwarding/);
        });
        const deadPort = await closedPort();
        await expectSshError(SshHost.connect(optionsFor(hostB, { jump: optionsFor({ host: '127.0.0.1', port: deadPort }) })), 'SSH_JUMP', 2000, (error) => {
          assert.equal((error.cause as SshError).code, 'SSH_UNREACHABLE');
        });
      } finally {
        await jump.close();
      }
    });
  });
});

function hasSocket(file: string): boolean {
  try {
    return statSync(file).isSocket();
  } catch {
    return false;
  }
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
