// The lab's SSH hosts and host command stand-ins, used the way the suite uses them: over SSH with the pinned host
// key, reading the exact layouts real hosts print (docker, ss, ip, ufw, iptables, sudo, Xvnc).
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import ssh2 from 'ssh2';
import { installHostCommands } from '../../lab/host/install.ts';
import { humanDuration } from '../../lab/host/docker-format.ts';
import { lineStamp, parseTimeValue, sinceOffset, tailOffset } from '../../lab/host/log-file.ts';
import { main as runHostCommand } from '../../lab/host/commands.ts';
import { plainCommand } from '../../lab/host/plain-command.ts';
import { generateKey, startSshHosts, type SshHostsHandle } from '../../lab/ssh.ts';
import { connect, knownHostKey, run, waitFor } from './lab-ssh-client.ts';
import { createContainer, dockerTimestamp, paths, readJson, writeJson, type ContainerState, type HostState } from '../../lab/state.ts';


const { utils } = ssh2;
const execFileAsync = promisify(execFile);
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const XVNC = 'Xvnc KasmVNC 1.3.2.b2a3e4e3e4c7d8f9a0b1c2d3e4f5a6b7c8d9e0f1 - built Jun 12 2024 09:41:27';
const SESSION = 'synthetic_1a2b3c4d';
const SESSION_HOSTNAME = '1a2b3c4d5e6f';

const webapp: HostState = {
  id: 'webapp-1',
  role: 'webapp',
  hostname: 'kasm-webapp-1',
  ip: '127.0.0.11',
  proxyPort: 8443,
  proxyListening: true,
  sshPort: 0,
  firewall: { ufw: 'active', blockedPorts: [8443] },
};
const agent: HostState = { ...webapp, id: 'agent-1', role: 'agent', hostname: 'kasm-agent-1', ip: '127.0.0.21', proxyListening: false, firewall: { ufw: 'inactive', blockedPorts: [] } };

function container(now: number, fields: Partial<ContainerState> & Pick<ContainerState, 'id' | 'name' | 'image' | 'command'>, createdMinutesAgo: number): ContainerState {
  const created = new Date(now - 6 * DAY - createdMinutesAgo * MINUTE).toISOString();
  return { created, state: 'running', health: null, startedAt: created, ports: '', hostname: fields.id, env: {}, ...fields };
}

function writeHost(root: string, host: HostState, containers: Array<ContainerState & { exitCode?: number; finishedAt?: string }>) {
  mkdirSync(paths.host(root, host.id), { recursive: true });
  writeJson(paths.hostFile(root, host.id), host);
  return new Map(containers.map((c) => [c.name, createContainer(root, host.id, c)]));
}




const processArgs = () => execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n');


describe('lab SSH hosts', () => {
  let root: string;
  let ssh: SshHostsHandle;
  let web: ssh2.Client;
  let agentClient: ssh2.Client;
  // Each relative time sits at the start of its docker bucket ("Up 5 minutes" from 5:00 to 5:59), so the setup
  // below may take up to a minute before docker ps reads it.
  const now = Date.now();
  const stamps = { first: new Date(now - 2 * 60 * MINUTE), second: new Date(now - 30 * MINUTE), third: new Date(now - MINUTE) };

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'lab-ssh-'));
    writeJson(paths.faults(root), []);
    const logs = writeHost(root, webapp, [
      container(now, { id: '401963ee87a0', name: 'kasm_proxy', image: 'kasmweb/proxy:1.16.0', command: '/docker-entrypoint.sh nginx -g "daemon off;"', ports: '80/tcp, 0.0.0.0:8443->443/tcp, :::8443->443/tcp' }, 50),
      container(now, { id: '5759e5692a85', name: 'kasm_api', image: 'kasmweb/api:1.16.0', command: "/bin/sh -c 'python3 /src/api_server/api_server.py'", ports: '8080/tcp', health: 'healthy', startedAt: new Date(now - 3 * MINUTE).toISOString() }, 40),
      { ...container(now, { id: '140660c3c201', name: 'kasm_manager', image: 'kasmweb/manager:1.16.0', command: "/bin/sh -c '/usr/bin/kasm_server.so'", ports: '8181/tcp', state: 'restarting' }, 30), exitCode: 1, finishedAt: new Date(now - MINUTE).toISOString() },
      { ...container(now, { id: '45fceb6bff08', name: 'kasm_share', image: 'kasmweb/share:1.16.0', command: "/bin/sh -c '/usr/bin/kasm_share.so'", ports: '8182/tcp', state: 'exited' }, 20), exitCode: 137, finishedAt: new Date(now - 120 * MINUTE).toISOString() },
      container(now, { id: '1ed22b860c6b', name: 'kasm_guac', image: 'kasmweb/kasm-guac:1.16.0', command: '/dockerstartup/start.sh', ports: '3000/tcp', health: 'starting', startedAt: new Date(now - 30 * MINUTE).toISOString() }, 15),
      container(now, { id: '670da792ed27', name: 'kasm_db', image: 'postgres:12-alpine', command: 'docker-entrypoint.sh postgres', ports: '5432/tcp', health: 'unhealthy', startedAt: new Date(now - 5 * MINUTE).toISOString() }, 10),
    ]);
    const api = logs.get('kasm_api')!;
    api.write('2026-11-24 17:00:00,000 [INFO] client_api_server: first', stamps.first);
    api.write('2026-11-24 18:30:00,000 [INFO] client_api_server: second', stamps.second);
    api.write('2026-11-24 18:59:00,000 [INFO] client_api_server: third', stamps.third);
    writeHost(root, agent, [
      container(now, { id: '0eb604899140', name: 'kasm_agent', image: 'kasmweb/agent:1.16.0', command: "/bin/sh -c '/usr/bin/kasm_agent'", ports: '4444/tcp', health: 'healthy' }, 60),
      container(now, {
        id: SESSION_HOSTNAME,
        name: SESSION,
        image: 'kasmweb/ubuntu-jammy-desktop:1.16.0',
        command: '/dockerstartup/kasm_default_profile.sh /dockerstartup/vnc_startup.sh /dockerstartup/kasm_startup.sh --wait',
        ports: '4901/tcp, 5901/tcp, 6901/tcp',
        env: { HOME: '/home/kasm-user', DISPLAY: ':1', VNC_PW: 'not-a-secret' },
        xvncVersion: XVNC,
      }, 1),
    ]);
    const vncDir = join(paths.container(root, agent.id, SESSION), 'root', 'home', 'kasm-user', '.vnc');
    mkdirSync(vncDir, { recursive: true });
    writeFileSync(join(vncDir, `${SESSION_HOSTNAME}:1.log`), ' 2026-11-24 18:59:00,123 [INFO] websocket 1: got client connection from 127.0.0.1\n');

    await installHostCommands(root);
    ssh = await startSshHosts({ root, hosts: [webapp, agent] });
    const key = readFileSync(ssh.clientKeyFile);
    web = await connect(ssh.hosts[0]!, key, ssh.knownHostsFile);
    agentClient = await connect(ssh.hosts[1]!, key, ssh.knownHostsFile);
  });

  after(async () => {
    web?.end();
    agentClient?.end();
    await ssh?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  describe('SSH access', () => {
    it('writes a 0600 client key, known_hosts entries matching the fingerprints, and each host sshPort', () => {
      assert.equal(statSync(ssh.clientKeyFile).mode & 0o777, 0o600);
      assert.match(readFileSync(ssh.clientKeyFile, 'utf8'), /^-----BEGIN OPENSSH PRIVATE[ ]KEY-----/);
      assert.equal(ssh.user, 'kasm-admin');
      for (const host of ssh.hosts) {
        const blob = Buffer.from(knownHostKey(ssh.knownHostsFile, host.host, host.port), 'base64');
        const digest = (utils.parseKey(`ssh-ed25519 ${blob.toString('base64')}`) as { getPublicSSH(): Buffer }).getPublicSSH();
        assert.deepEqual(digest, blob);
        assert.match(host.fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
        assert.equal(readJson<HostState>(paths.hostFile(root, host.id)).sshPort, host.port);
      }
    });

    it('rejects a client key it does not know', async () => {
      const stranger = generateKey().private;
      await assert.rejects(connect(ssh.hosts[0]!, Buffer.from(stranger), ssh.knownHostsFile), (error: Error & { level?: string }) => error.level === 'client-authentication');
    });

    it('refuses interactive shells', async () => {
      await assert.rejects(new Promise((resolve, reject) => web.shell((error, stream) => (error ? reject(error) : resolve(stream)))));
    });

    it('runs commands in the host folder with the lab environment', async () => {
      const result = await run(web, 'echo "$USER $LAB_HOST_ID"; pwd; echo oops >&2; exit 3');
      assert.deepEqual(result, { code: 3, signal: undefined, stdout: `kasm-admin webapp-1\n${paths.host(root, webapp.id)}\n`, stderr: 'oops\n' });
    });
  });

  describe('docker', () => {
    it('docker ps -a prints the table layout with every status form', async () => {
      const result = await run(web, 'sudo -n docker ps -a');
      assert.equal(result.code, 0, result.stderr);
      assert.equal(
        result.stdout,
        [
          'CONTAINER ID   IMAGE                      COMMAND                  CREATED      STATUS                              PORTS                                             NAMES',
          '670da792ed27   postgres:12-alpine         "docker-entrypoint.s…"   6 days ago   Up 5 minutes (unhealthy)            5432/tcp                                          kasm_db',
          '1ed22b860c6b   kasmweb/kasm-guac:1.16.0   "/dockerstartup/star…"   6 days ago   Up 30 minutes (health: starting)    3000/tcp                                          kasm_guac',
          '45fceb6bff08   kasmweb/share:1.16.0       "/bin/sh -c \'/usr/bi…"   6 days ago   Exited (137) 2 hours ago                                                              kasm_share',
          '140660c3c201   kasmweb/manager:1.16.0     "/bin/sh -c \'/usr/bi…"   6 days ago   Restarting (1) About a minute ago                                                     kasm_manager',
          '5759e5692a85   kasmweb/api:1.16.0         "/bin/sh -c \'python3…"   6 days ago   Up 3 minutes (healthy)              8080/tcp                                          kasm_api',
          '401963ee87a0   kasmweb/proxy:1.16.0       "/docker-entrypoint.…"   6 days ago   Up 6 days                           80/tcp, 0.0.0.0:8443->443/tcp, :::8443->443/tcp   kasm_proxy',
          '',
        ].join('\n'),
      );
    });

    it('docker ps without -a leaves out exited containers', async () => {
      const names = (await run(web, "docker ps --format '{{.Names}}'")).stdout;
      assert.equal(names, 'kasm_db\nkasm_guac\nkasm_manager\nkasm_api\nkasm_proxy\n');
    });

    it("docker ps --format '{{json .}}' prints docker's keys, one object a line", async () => {
      const result = await run(web, "docker ps -a --format '{{json .}}'");
      const lines = result.stdout.trimEnd().split('\n');
      assert.equal(lines.length, 6);
      const proxy = lines.at(-1)!;
      assert.ok(proxy.includes('"Ports":"80/tcp, 0.0.0.0:8443-\\u003e443/tcp, :::8443-\\u003e443/tcp"'), proxy);
      const record = JSON.parse(proxy) as Record<string, string>;
      assert.deepEqual(Object.keys(record), ['Command', 'CreatedAt', 'ID', 'Image', 'Labels', 'LocalVolumes', 'Mounts', 'Names', 'Networks', 'Ports', 'RunningFor', 'Size', 'State', 'Status']);
      assert.equal(record.Command, '"/docker-entrypoint.…"');
      assert.equal(record.Status, 'Up 6 days');
      assert.equal(record.State, 'running');
      assert.match(record.CreatedAt!, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC$/);
    });

    it('docker logs --since a timestamp returns only the entries from then on', async () => {
      const result = await run(web, `docker logs --since ${dockerTimestamp(stamps.second)} kasm_api`);
      assert.equal(result.stdout, '2026-11-24 18:30:00,000 [INFO] client_api_server: second\n2026-11-24 18:59:00,000 [INFO] client_api_server: third\n');
      const between = await run(web, `docker logs --since ${stamps.first.getTime() / 1000 + 1} kasm_api`);
      assert.equal(between.stdout, result.stdout);
    });

    it('docker logs --since 1h, --tail 1 and -t', async () => {
      assert.equal((await run(web, 'docker logs --since 1h kasm_api')).stdout.split('\n').length, 3);
      assert.equal((await run(web, 'docker logs --tail 1 kasm_api')).stdout, '2026-11-24 18:59:00,000 [INFO] client_api_server: third\n');
      assert.equal((await run(web, 'docker logs -t -n 1 kasm_api')).stdout, `${dockerTimestamp(stamps.third)} 2026-11-24 18:59:00,000 [INFO] client_api_server: third\n`);
      assert.equal((await run(web, `docker logs --until ${dockerTimestamp(stamps.first)} kasm_api`)).stdout, '2026-11-24 17:00:00,000 [INFO] client_api_server: first\n');
    });

    it('docker logs rejects -f and bad times the way the lab and docker do', async () => {
      assert.deepEqual(await run(web, 'docker logs -f kasm_api'), { code: 2, signal: undefined, stdout: '', stderr: 'lab: docker logs -f is not supported\n' });
      assert.deepEqual(await run(web, 'docker logs --since yesterday kasm_api'), {
        code: 1,
        signal: undefined,
        stdout: '',
        stderr: 'invalid value for "since": failed to parse value as time or duration: "yesterday"\n',
      });
    });

    it('unknown containers and commands get docker error messages', async () => {
      assert.deepEqual(await run(web, 'docker logs kasm_nope'), { code: 1, signal: undefined, stdout: '', stderr: 'Error response from daemon: No such container: kasm_nope\n' });
      assert.deepEqual(await run(web, 'docker exec kasm_nope true'), { code: 1, signal: undefined, stdout: '', stderr: 'Error response from daemon: No such container: kasm_nope\n' });
      assert.deepEqual(await run(web, 'docker inspect kasm_nope'), { code: 1, signal: undefined, stdout: '[]\n', stderr: 'Error: No such object: kasm_nope\n' });
      assert.deepEqual(await run(web, 'docker frobnicate'), { code: 1, signal: undefined, stdout: '', stderr: "docker: unknown command: docker frobnicate\n\nRun 'docker --help' for more information\n" });
    });

    it('docker exec -it without a terminal fails like docker; -t alone answers through a pseudo-terminal', async () => {
      assert.deepEqual(await run(agentClient, `docker exec -it ${SESSION} bash`), { code: 1, signal: undefined, stdout: '', stderr: 'the input device is not a TTY\n' });
      assert.equal((await run(agentClient, `docker exec -t ${SESSION} sh -c 'echo out; echo err >&2'`)).stdout, 'out\r\nerr\r\n');
    });

    it('docker exec runs in the container home with its environment', async () => {
      const result = await run(agentClient, `docker exec ${SESSION} sh -c 'echo $HOME; echo $HOSTNAME $VNC_PW; cat ~/.vnc/*.log'`);
      const home = join(paths.container(root, agent.id, SESSION), 'root', 'home', 'kasm-user');
      assert.equal(result.stdout, `${home}\n${SESSION_HOSTNAME} not-a-secret\n 2026-11-24 18:59:00,123 [INFO] websocket 1: got client connection from 127.0.0.1\n`);
      const byPath = await run(agentClient, `docker exec ${SESSION} cat /home/kasm-user/.vnc/${SESSION_HOSTNAME}:1.log`);
      assert.match(byPath.stdout, /got client connection/);
    });

    it('Xvnc -version prints the KasmVNC banner on stderr, only in session containers', async () => {
      assert.deepEqual(await run(agentClient, `docker exec ${SESSION} Xvnc -version`), {
        code: 0,
        signal: undefined,
        stdout: '',
        stderr: `\n${XVNC}\nCopyright (C) 1999-2018 KasmVNC Team and many others (see README.me)\nSee http://kasmweb.com for information on KasmVNC.\nUnderlying X server release 12014000, The X.Org Foundation\n\n`,
      });
      const missing = await run(agentClient, 'docker exec kasm_agent Xvnc -version');
      assert.equal(missing.code, 127);
      assert.equal(missing.stderr, 'OCI runtime exec failed: exec failed: unable to start container process: exec: "Xvnc": executable file not found in $PATH: unknown\n');
    });

    it('docker exec into a stopped container fails with the daemon message', async () => {
      const result = await run(web, 'docker exec kasm_share true');
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^Error response from daemon: container 45fceb6bff08[0-9a-f]{52} is not running\n$/);
    });

    it('docker inspect prints the fields checks read', async () => {
      const [api] = JSON.parse((await run(web, 'docker inspect kasm_api')).stdout) as Array<{ Id: string; Name: string; State: { Status: string; Running: boolean; Health: { Status: string } } }>;
      assert.equal(api!.Name, '/kasm_api');
      assert.match(api!.Id, /^5759e5692a85[0-9a-f]{52}$/);
      assert.deepEqual([api!.State.Status, api!.State.Running, api!.State.Health.Status], ['running', true, 'healthy']);
      assert.equal((await run(web, "docker inspect --format '{{.State.Health.Status}}' kasm_db")).stdout, 'unhealthy\n');
      assert.equal((await run(agentClient, `docker inspect -f '{{json .Config.Env}}' ${SESSION}`)).stdout, '["HOME=/home/kasm-user","DISPLAY=:1","VNC_PW=not-a-secret"]\n');
      const ports = await run(web, "docker inspect -f '{{json .NetworkSettings.Ports}}' kasm_proxy");
      assert.equal(ports.stdout, '{"443/tcp":[{"HostIp":"0.0.0.0","HostPort":"8443"},{"HostIp":"::","HostPort":"8443"}],"80/tcp":null}\n');
    });
  });

  describe('network and firewall', () => {
    it('ss -ltn shows the proxy port on IPv4 and IPv6 while it listens', async () => {
      const result = await run(web, 'ss -ltn');
      assert.equal(
        result.stdout,
        [
          'State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess',
          'LISTEN 0      4096   127.0.0.53%lo:53        0.0.0.0:*          ',
          'LISTEN 0      128          0.0.0.0:22        0.0.0.0:*          ',
          'LISTEN 0      4096         0.0.0.0:111       0.0.0.0:*          ',
          'LISTEN 0      4096         0.0.0.0:8443      0.0.0.0:*          ',
          'LISTEN 0      4096            [::]:111          [::]:*          ',
          'LISTEN 0      128             [::]:22           [::]:*          ',
          'LISTEN 0      4096            [::]:8443         [::]:*          ',
          '',
        ].join('\n'),
      );
      assert.equal((await run(web, 'ss -tln')).stdout, result.stdout);
    });

    it('ss -ltn leaves the proxy port out when the proxy does not listen', async () => {
      const result = await run(agentClient, 'ss -lnt');
      assert.equal(result.code, 0);
      assert.doesNotMatch(result.stdout, /:8443 /);
      assert.match(result.stdout, /\[::\]:22 /);
    });

    it('ip -o addr puts the lab IP on ens3', async () => {
      const lines = (await run(web, 'ip -o addr')).stdout.split('\n');
      assert.equal(lines[0], '1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever');
      assert.equal(lines[2], '2: ens3    inet 127.0.0.11/8 brd 127.255.255.255 scope global ens3\\       valid_lft forever preferred_lft forever');
      assert.match(lines[4]!, /^3: docker0    inet 172\.17\.0\.1\/16 brd 172\.17\.255\.255 scope global docker0\\/);
      assert.match((await run(web, 'ip a')).stdout, /^2: ens3: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 9000 qdisc pfifo_fast state UP group default qlen 1000\n {4}link\/ether 02:00(:[0-9a-f]{2}){4} brd ff:ff:ff:ff:ff:ff\n {4}altname enp0s3\n {4}inet 127\.0\.0\.11\/8 /m);
    });

    it('ufw status lists a DENY row for each blocked port', async () => {
      assert.equal(
        (await run(web, 'sudo ufw status')).stdout,
        [
          'Status: active',
          '',
          'To                         Action      From',
          '--                         ------      ----',
          '22/tcp                     ALLOW       Anywhere                  ',
          '8443/tcp                   DENY        Anywhere                  ',
          '22/tcp (v6)                ALLOW       Anywhere (v6)             ',
          '8443/tcp (v6)              DENY        Anywhere (v6)             ',
          '',
          '',
        ].join('\n'),
      );
      assert.equal((await run(agentClient, 'ufw status')).stdout, 'Status: inactive\n');
    });

    it('iptables -S shows the DROP rule for a blocked port next to the docker chains', async () => {
      const rules = (await run(web, 'sudo -n iptables -S')).stdout.split('\n');
      assert.deepEqual(rules.slice(0, 8), ['-P INPUT ACCEPT', '-P FORWARD DROP', '-P OUTPUT ACCEPT', '-N DOCKER', '-N DOCKER-ISOLATION-STAGE-1', '-N DOCKER-ISOLATION-STAGE-2', '-N DOCKER-USER', '-A INPUT -p tcp -m tcp --dport 8443 -j DROP']);
      assert.ok(rules.includes('-A DOCKER-USER -j RETURN'));
      const input = (await run(web, 'iptables -nL INPUT')).stdout;
      assert.equal(input, 'Chain INPUT (policy ACCEPT)\ntarget     prot opt source               destination         \nDROP       tcp  --  0.0.0.0/0            0.0.0.0/0            tcp dpt:8443\n');
      assert.doesNotMatch((await run(agentClient, 'iptables -S INPUT')).stdout, /DROP/);
    });
  });

  describe('plain command lines in the lab process', () => {
    // `exec <line>` is not plain (exec is a bash builtin), so bash runs the same stand-in from its shim: the reference.
    const lines: Array<[string, () => ssh2.Client]> = [
      ["sudo -n docker ps -a --format '{{.Names}} {{.Image}}'", () => web],
      [`sudo -n docker logs --since '${stamps.second.toISOString()}' --tail 5 'kasm_api' 2>&1`, () => web],
      ['docker logs no_such_container', () => web],
      ['docker logs no_such_container 2>&1', () => web],
      ['docker frobnicate', () => web],
      [`docker inspect --format '{{json .Config.Env}}' ${SESSION}`, () => agentClient],
      [`docker exec ${SESSION} sh -c 'tail -c 40 -- "$HOME/$1"' sh '.vnc/${SESSION_HOSTNAME}:1.log'`, () => agentClient],
      [`sudo -n docker exec ${SESSION} Xvnc -version 2>&1`, () => agentClient],
      ['ss -ltn', () => web],
      ['ip -o addr', () => web],
      ['sudo -n ufw status verbose', () => web],
      ['iptables -S', () => web],
      // Programs the stand-ins start: in the host's folder, with both streams in one descriptor under 2>&1.
      ['sudo -n pwd', () => web],
      ['sudo -n no_such_program', () => web],
      ['sudo -n no_such_program 2>&1', () => web],
      [`docker exec ${SESSION} sh -c 'i=0; while [ $i -lt 200 ]; do echo out$i; echo err$i >&2; i=$((i+1)); done' 2>&1`, () => agentClient],
      // One stream only: the lab's pseudo-terminal joins two pipes, whose order a loaded machine may swap.
      [`docker exec -t ${SESSION} sh -c 'echo out; echo again; exit 3'`, () => agentClient],
    ];
    for (const [line, client] of lines) {
      it(`answers ${line} exactly as bash and the stand-in's own process do`, async () => {
        const before = ssh.ran();
        const plain = await run(client(), line);
        const shell = await run(client(), `exec ${line}`);
        assert.deepEqual(ssh.ran(), { inProcess: before.inProcess + 1, bash: before.bash + 1 }, 'one run in the lab process, one in bash');
        assert.deepEqual(plain, shell);
        assert.notEqual(plain.stdout + plain.stderr, '', 'a comparison of two empty answers proves nothing');
      });
    }

    it('leaves every line a shell would do more with to bash', async () => {
      const before = ssh.ran();
      assert.equal((await run(web, "docker ps -a --format '{{.Names}}' | sort | head -1")).stdout, 'kasm_api\n');
      assert.equal((await run(web, 'FOO=bar; echo "$FOO"; docker --version')).stdout, 'bar\nDocker version 24.0.7, build afdd53b\n');
      assert.deepEqual(ssh.ran(), { inProcess: before.inProcess, bash: before.bash + 2 });
    });

    it('ends a command and every program it started when the client goes, even one that never reads its input', async () => {
      const programs = ['sleep 29.4', 'head -c 20000001', 'sleep 29.5', 'sleep 29.3', 'sleep 29.2'];
      const lingering = () => processArgs().filter((args) => programs.some((program) => args.includes(program)));
      // The client closes once the program runs, and reads nothing (ssh2's client would not report that channel closed).
      const abandon = (line: string, program: string, input?: Buffer) =>
        new Promise<void>((resolve, reject) =>
          agentClient.exec(line, (error, channel) => {
            if (error) return reject(error);
            if (input) channel.write(input);
            waitFor(`${program} to start`, () => processArgs().some((args) => args.includes(program))).then(() => {
              channel.close();
              resolve();
            }, reject);
          }),
        );
      const before = ssh.ran().inProcess;
      // docker exec never reads its input, and a program outlives sh.
      await abandon(`docker exec ${SESSION} sh -c 'sleep 29.4 & sleep 29.4'`, 'sleep 29.4');
      // Its output is stuck behind the client.
      await abandon(`docker exec ${SESSION} sh -c 'head -c 20000001 /dev/zero; sleep 29.5'`, 'head -c 20000001');
      // It ignores SIGTERM, so only the SIGKILL after the grace period ends it.
      await abandon(`docker exec ${SESSION} sh -c 'trap "" TERM; sleep 29.3'`, 'sleep 29.3');
      // 40 kB of input nobody reads, more than any buffer between the channel and the command holds.
      await abandon(`docker exec ${SESSION} sleep 29.2`, 'sleep 29.2', Buffer.alloc(40_000, 'x'));
      assert.equal(ssh.ran().inProcess, before + 4);
      await waitFor('the abandoned commands and their programs to end', () => ssh.running() === 0 && lingering().length === 0, 8000);
    });

    it('leaves what a finished bash command put in the background running when the client goes, as sshd does', async () => {
      const background = () => processArgs().filter((args) => args.includes('sleep 28.9'));
      try {
        // The client ends its input at once, as the suite's SSH probe does, so the channel's close reaches the lab.
        const answer = await new Promise<string>((resolve, reject) =>
          web.exec('sleep 28.9 </dev/null >/dev/null 2>&1 & echo started', (error, channel) => {
            if (error) return reject(error);
            let stdout = '';
            channel.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
            channel.once('close', () => resolve(stdout));
            channel.end();
          }),
        );
        assert.equal(answer, 'started\n');
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.equal(background().length, 1, 'the background sleep still runs');
      } finally {
        for (const line of execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).split('\n')) {
          if (line.includes('sleep 28.9')) process.kill(Number.parseInt(line, 10));
        }
      }
    });
  });

  describe('sudo', () => {
    it('with the sudo-password fault, sudo -n fails fast and sudo waits for a password', async () => {
      writeJson(paths.faults(root), ['sudo-password']);
      try {
        const started = Date.now();
        assert.deepEqual(await run(web, 'sudo -n docker ps'), { code: 1, signal: undefined, stdout: '', stderr: 'sudo: a password is required\n' });
        assert.ok(Date.now() - started < 3000);
        const prompt = { code: null, signal: undefined, stdout: '', stderr: '[sudo] password for kasm-admin: ' };
        const prompted = (result: { stderr: string }) => result.stderr.includes('[sudo] password');
        // A plain line runs in the lab's process; the channel's close must end it all the same.
        assert.deepEqual(await run(web, 'sudo docker ps', 20_000, prompted), prompt);
        await waitFor('the abandoned in-process sudo to end', () => ssh.running() === 0);
        // Through bash, sudo is a process of its own, killed with its process group.
        assert.deepEqual(await run(web, 'exec sudo docker ps', 20_000, prompted), prompt);
        await waitFor('the abandoned sudo to be killed', () => ssh.running() === 0 && !processArgs().some((args) => args.includes(`${root}/bin/lab-host.mjs sudo`)));
      } finally {
        writeJson(paths.faults(root), []);
      }
    });
  });
});

describe('lab keys', () => {
  // ssh2 makes an unparseable ed25519 key once in 256 (mscdex/ssh2#1513): 3000 pairs hold about 12 of them, so a
  // generateKey that handed out what ssh2 made would fail here all but once in 10^5 runs.
  it('hands out only ed25519 pairs whose both halves parse, with and without a passphrase', () => {
    for (let i = 0; i < 3000; i++) {
      const pair = generateKey();
      assert.equal(pair.key.getPublicSSH().length, 51, `key ${i}: ${pair.public}`);
      assert.ok(!(utils.parseKey(pair.private) instanceof Error), `key ${i}: private half does not parse`);
    }
    const locked = generateKey({ passphrase: 'correct horse', cipher: 'aes256-ctr', rounds: 1 });
    assert.ok(!(utils.parseKey(locked.private, 'correct horse') instanceof Error));
  });
});

describe('which SSH command lines run without a shell', () => {
  it('splits plain and quoted words as bash does, and takes a trailing 2>&1', () => {
    assert.deepEqual(plainCommand("sudo -n docker ps -a --no-trunc --format '{{json .}}'"), { argv: ['sudo', '-n', 'docker', 'ps', '-a', '--no-trunc', '--format', '{{json .}}'], stderrToStdout: false });
    assert.deepEqual(plainCommand("docker logs --since '2026-11-25T02:00:00.000Z' --tail 20000 'kasm_api' 2>&1"), {
      argv: ['docker', 'logs', '--since', '2026-11-25T02:00:00.000Z', '--tail', '20000', 'kasm_api'],
      stderrToStdout: true,
    });
    assert.deepEqual(plainCommand(`docker exec 'x' sh -c 'tail -c 5 -- "$HOME/$1"' sh '.vnc/a:1.log'`)?.argv, ['docker', 'exec', 'x', 'sh', '-c', 'tail -c 5 -- "$HOME/$1"', 'sh', '.vnc/a:1.log']);
    assert.deepEqual(plainCommand(`  ss\t-ltn  "a b"'c'd ''`)?.argv, ['ss', '-ltn', 'a bcd', '']);
    // An assignment is a word too; the SSH server runs only lines whose first word names a stand-in.
    assert.deepEqual(plainCommand('FOO=1 docker ps')?.argv, ['FOO=1', 'docker', 'ps']);
  });

  it('refuses whatever bash would expand, pipe, redirect, glob or take as a comment', () => {
    for (const line of ['', '   ', 'docker ps | sort', 'docker ps; id', 'docker ps && id', 'docker ps &', 'docker logs $NAME', 'docker logs "$NAME"', 'docker logs "`id`"', 'docker logs "a\\b"', 'docker ps > out', 'docker ps 2>/dev/null', 'docker ps 2>&1 | cat', 'docker ps *', 'docker ps ~', 'docker ps # c', "docker 'unterminated", 'docker ps\nid', 'docker ps {a,b}', 'docker ps (x)', 'docker ps a\\ b']) {
      assert.equal(plainCommand(line), undefined, line);
    }
  });
});

describe('docker logs on a large file', () => {
  let dir: string;
  let file: string;
  const base = Date.UTC(2026, 10, 24, 0, 0, 0);
  const lineOf = (i: number) => `${dockerTimestamp(new Date(base + i))} GET /api/__healthcheck ${i} ${'x'.repeat(60)}\n`;
  let lines = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lab-biglog-'));
    writeHost(dir, webapp, [container(Date.now(), { id: '5759e5692a85', name: 'kasm_api', image: 'kasmweb/api:1.16.0', command: 'python3 api_server.py' }, 0)]);
    await installHostCommands(dir);
    file = join(paths.container(dir, webapp.id, 'kasm_api'), 'log');
    const out = createWriteStream(file);
    for (let written = 0; written < 50 * 1024 * 1024; lines++) {
      const line = lineOf(lines);
      written += line.length;
      if (!out.write(line)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  async function lineAt(offset: number): Promise<string> {
    const handle = await open(file, 'r');
    try {
      const buffer = Buffer.alloc(200);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
      return buffer.subarray(0, bytesRead).toString().split('\n')[0]!;
    } finally {
      await handle.close();
    }
  }

  it('finds the --since start as docker does, decoding every line from the first until one is at or after it', async () => {
    const target = Math.floor(lines * 0.737);
    const since = lineStamp(Buffer.from(lineOf(target)))!;
    const offset = await sinceOffset(file, since);
    assert.equal(await lineAt(offset), lineOf(target).trimEnd());
    assert.equal(await sinceOffset(file, since - 1n), offset);
    assert.equal(await lineAt(await sinceOffset(file, since + 1n)), lineOf(target + 1).trimEnd());
    assert.equal(await sinceOffset(file, 0n), 0);
    assert.equal(await sinceOffset(file, lineStamp(Buffer.from(lineOf(lines)))!), statSync(file).size);
  });

  /** Runs the docker stand-in in this process, as the lab's SSH server does for a plain command line. */
  async function timedInProcess(args: string[], env: NodeJS.ProcessEnv): Promise<{ stdout: string; ms: number }> {
    const [stdout, stderr] = [new PassThrough(), new PassThrough()];
    const printed = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
    stdout.on('data', (chunk: Buffer) => printed.stdout.push(chunk));
    stderr.on('data', (chunk: Buffer) => printed.stderr.push(chunk));
    const started = performance.now();
    const code = await runHostCommand(['docker', ...args], { stdin: new PassThrough(), stdout, stderr, env, cwd: dir, signal: new AbortController().signal, hosted: true });
    const ms = performance.now() - started;
    assert.equal(code, 0, Buffer.concat(printed.stderr).toString());
    return { stdout: Buffer.concat(printed.stdout).toString(), ms };
  }

  it('docker logs --since returns just the window; with --tail it reads back from the end and --since filters that', async () => {
    const since = dockerTimestamp(new Date(base + lines - 5));
    const env = { ...process.env, LAB_ROOT: dir, LAB_HOST_ID: webapp.id };
    const window = [5, 4, 3, 2, 1].map((back) => lineOf(lines - back).trimEnd().split(' ').slice(1).join(' '));
    const { stdout } = await execFileAsync(join(paths.bin(dir), 'docker'), ['logs', '--since', since, 'kasm_api'], { env, maxBuffer: 1024 * 1024 });
    assert.deepEqual(stdout.split('\n').slice(0, -1), window);
    const tailed = await execFileAsync(join(paths.bin(dir), 'docker'), ['logs', '--since', since, '--tail', '20000', 'kasm_api'], { env, maxBuffer: 1024 * 1024 });
    assert.deepEqual(tailed.stdout.split('\n').slice(0, -1), window);
    // The cost, without a Node start: --since alone decodes all 50 MB, --tail reads 20000 lines back from the end
    // (about a quarter of the time here).
    const sinceOnly = await timedInProcess(['logs', '--since', since, 'kasm_api'], env);
    const withTail = await timedInProcess(['logs', '--since', since, '--tail', '20000', 'kasm_api'], env);
    assert.deepEqual([sinceOnly.stdout, withTail.stdout], [stdout, tailed.stdout]);
    assert.ok(withTail.ms * 2 < sinceOnly.ms, `docker logs --since --tail took ${withTail.ms.toFixed(0)} ms on 50 MB, --since alone ${sinceOnly.ms.toFixed(0)} ms`);
    const short = await execFileAsync(join(paths.bin(dir), 'docker'), ['logs', '--since', since, '--tail', '2', 'kasm_api'], { env, maxBuffer: 1024 * 1024 });
    assert.deepEqual(short.stdout.split('\n').slice(0, -1), window.slice(-2), 'the tail comes first, --since filters it');
  });

  it('finds the --tail start by reading backwards', async () => {
    const offset = await tailOffset(file, 3);
    assert.equal(await lineAt(offset), lineOf(lines - 3).trimEnd());
    assert.equal(statSync(file).size - offset, lineOf(lines - 3).length + lineOf(lines - 2).length + lineOf(lines - 1).length);
  });
});

describe('docker time texts', () => {
  const now = new Date('2026-11-24T18:00:00.750Z');
  const seconds = (iso: string) => BigInt(Date.parse(iso)) * 1_000_000n;

  it('reads --since values as the docker CLI does', () => {
    assert.equal(parseTimeValue('1h30m', now), seconds('2026-11-24T16:30:00Z'));
    assert.equal(parseTimeValue('45s', now), seconds('2026-11-24T17:59:15Z'));
    assert.equal(parseTimeValue('2026-11-24T17:00:00Z', now), seconds('2026-11-24T17:00:00Z'));
    assert.equal(parseTimeValue('2026-11-24T18:00:00.123456789+01:00', now), seconds('2026-11-24T17:00:00Z') + 123_456_789n);
    assert.equal(parseTimeValue('1700000000.5', now), 1_700_000_000_500_000_000n);
    assert.throws(() => parseTimeValue('2026-13-01', now), { message: 'parsing time "2026-13-01": month out of range' });
  });

  it('words durations like go-units', () => {
    assert.deepEqual(
      [500, 1_000, 59_000, 90_000, 59 * MINUTE, 90 * MINUTE, 47 * 60 * MINUTE, 6 * DAY, 20 * DAY, 90 * DAY].map(humanDuration),
      ['Less than a second', '1 second', '59 seconds', 'About a minute', '59 minutes', '2 hours', '47 hours', '6 days', '2 weeks', '3 months'],
    );
  });
});
