// kasm_agent in the real-parts lab: provisions session containers on its host's Docker engine (the host's
// docker.sock is mounted, as in Kasm's compose file), writes each session's location into kasm_proxy's containers.d
// and reloads nginx, and answers its health check on 4444, which Docker's HEALTHCHECK calls.
import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { join } from 'node:path';
import { kasmApiLine } from '../../logs.ts';
import { KASM_COOKIES } from '../nginx.ts';
import { FileFaults, onStop, readSettings, stdoutLog } from './common.ts';

export interface AgentSettings {
  /** The manager token kasm_api sends (Authorization: Bearer). */
  token: string;
  /** The lab's bundle folder on the host (lab/real/bundle.ts), mounted read-only into session containers for KasmVNC. */
  bundleDir: string;
  network: string;
  kasmvncLogLevel: number;
  /** The host folder session containers get as /etc/kasm (the lab's faults for KasmVNC). */
  sessionEtc: string;
}

export interface ProvisionRequest {
  kasm_id: string;
  username: string;
  image: string;
  /** The workspace's Docker Run Config Override (docker-py `containers.run()` keyword arguments). */
  run_config: { environment?: Record<string, string> | string[]; hostname?: string };
  vnc_password: string;
  desktop_label: string;
  /** The zone's Upstream Auth Address: `host`, `host:port` or an IP, where the session's access is authorized. */
  upstream_auth_address: string;
}

const settings = readSettings<AgentSettings>('/etc/kasm/agent.json');
const faults = new FileFaults('/etc/kasm/faults.json');
const CONTAINERS_D = '/etc/nginx/conf.d/containers.d';
const log = (level: 'INFO' | 'ERROR' | 'DEBUG', message: string) => stdoutLog.write(kasmApiLine(level, 'kasm_agent', message));

function docker(args: string[], timeout = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('/usr/bin/docker', args, { timeout, encoding: 'utf8' }, (error, stdout, stderr) => (error ? reject(new Error(`docker ${args[0]}: ${stderr.trim() || error.message}`)) : resolve(stdout.trim())));
  });
}

/** Kasm names a session container after the user and the kasm id: `<user part>_<first 8 of kasm_id>`. */
const containerName = (username: string, kasmId: string) => `${username.replace(/[^a-zA-Z0-9.]/g, '').slice(0, 12)}_${kasmId.slice(0, 8)}`;

function environment(config: ProvisionRequest['run_config']): string[] {
  const env = config.environment;
  if (Array.isArray(env)) return env.map(String);
  return Object.entries(env ?? {}).map(([k, v]) => `${k}=${String(v)}`);
}

function listening(host: string, port: number, deadline: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = net.connect({ host, port });
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`KasmVNC did not listen on ${host}:${port}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

function proxyServes(kasmId: string, deadline: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const attempt = () => {
      let settled = false;
      const retry = () => {
        if (settled) return;
        settled = true;
        if (Date.now() > deadline) reject(new Error(`kasm_proxy did not serve kasm (${kasmId}) after its reload`));
        else setTimeout(attempt, 25);
      };
      const req = https.get({ host: 'kasm_proxy', port: 443, path: `/desktop/${kasmId}/__lab_ready`, rejectUnauthorized: false, timeout: 2_000 }, (res) => {
        res.resume();
        if (res.statusCode !== 204) return retry();
        settled = true;
        resolve();
      });
      req.once('timeout', () => req.destroy(new Error('timeout')));
      req.once('error', retry);
    };
    attempt();
  });
}

/**
 * The session's locations in the agent's kasm_proxy (KASM-FACTS Unknowns 4: the real file is not public): the desktop,
 * authorized by `internal_auth` at the zone's Upstream Auth Address, a variable so nginx resolves it per request
 * (Docker's resolver, then the host's) and an unresolvable or unreachable address fails the session, not nginx.
 */
function sessionLocation(kasmId: string, name: string, upstreamAuthAddress: string): string {
  const auth = `/desktop/${kasmId}/__internal_auth`;
  return [
    `location = ${auth} {`,
    '  internal;',
    `  set $upstream_auth "${upstreamAuthAddress.replace(/[^A-Za-z0-9.:_-]/g, '')}";`,
    '  proxy_pass https://$upstream_auth/api/internal_auth/;',
    '  proxy_pass_request_body off;',
    "  proxy_set_header Content-Length '';",
    '  proxy_set_header X-Original-URI $request_uri;',
    `  ${KASM_COOKIES}`,
    '  proxy_ssl_server_name on;',
    '}',
    // The lab's own: nginx answers 204 here once its reload has the session's locations (no line in its log).
    `location = /desktop/${kasmId}/__lab_ready { access_log off; return 204; }`,
    `location /desktop/${kasmId}/vnc/ {`,
    `  auth_request ${auth};`,
    '  auth_request_set $connect_auth $upstream_http_connect_auth;',
    '  proxy_http_version 1.1;',
    '  proxy_set_header Upgrade $http_upgrade;',
    '  proxy_set_header Connection "upgrade";',
    '  proxy_set_header Host $host;',
    '  proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
    '  proxy_set_header Authorization $connect_auth;',
    '  proxy_set_header Cookie "";',
    `  proxy_pass https://${name}:6901/;`,
    '  proxy_read_timeout 1800s;',
    '  proxy_send_timeout 1800s;',
    '  proxy_buffering off;',
    '}',
    '',
  ].join('\n');
}

/** A provision that failed part way leaves nothing: the container it may have made is removed, and that is logged. */
async function provision(request: ProvisionRequest): Promise<unknown> {
  const name = containerName(request.username, request.kasm_id);
  try {
    return await provisionContainer(request, name);
  } catch (error) {
    log('ERROR', `Provisioning kasm (${request.kasm_id}) failed: ${String(error)}; removing container (${name})`);
    await destroy(request.kasm_id, name).catch((e: unknown) => log('ERROR', String(e)));
    throw error;
  }
}

async function provisionContainer(request: ProvisionRequest, name: string): Promise<unknown> {
  const hostname = typeof request.run_config.hostname === 'string' && request.run_config.hostname ? ['--hostname', request.run_config.hostname] : [];
  const env = [...environment(request.run_config), `VNC_PW=${request.vnc_password}`, `KASM_ID=${request.kasm_id}`, `KASM_LAB_KASMVNC_LOG_LEVEL=${settings.kasmvncLogLevel}`, `KASM_LAB_DESKTOP_LABEL=${request.desktop_label}`];
  const id = await docker([
    'run', '-d', '--name', name, '--network', settings.network, ...hostname,
    ...env.flatMap((e) => ['-e', e]),
    '--label', `kasm.kasm_id=${request.kasm_id}`,
    '-v', '/usr:/usr:ro', '-v', '/etc/ssl:/etc/ssl:ro', '-v', `${settings.bundleDir}:/opt/kasm-lab:ro`, '-v', `${settings.sessionEtc}:/etc/kasm:ro`,
    request.image,
    '/usr/bin/node', '/opt/kasm-lab/kasmvnc.mjs',
  ]);
  const inspected = JSON.parse(await docker(['inspect', '--format', '{{json .}}', id])) as { Config: { Hostname: string }; NetworkSettings: { Networks: Record<string, { IPAddress: string }> } };
  const ip = inspected.NetworkSettings.Networks[settings.network]?.IPAddress ?? '';
  await listening(ip, 6901, Date.now() + 30_000);
  writeFileSync(join(CONTAINERS_D, `${request.kasm_id}.conf`), sessionLocation(request.kasm_id, name, request.upstream_auth_address));
  await docker(['kill', '-s', 'HUP', 'kasm_proxy']);
  // nginx reloads behind the signal: its old workers answer 404 for the session until the new ones take over, so
  // the session is handed out only once kasm_proxy serves it (the lab's CI once lost the race on a busy machine).
  await proxyServes(request.kasm_id, Date.now() + 10_000);
  log('INFO', `Provisioned kasm (${request.kasm_id}) container (${name}) at (${ip})`);
  return { containerName: name, containerId: id, hostname: inspected.Config.Hostname, containerIp: ip, vncPort: 6901 };
}

async function destroy(kasmId: string, name: string): Promise<void> {
  rmSync(join(CONTAINERS_D, `${kasmId}.conf`), { force: true });
  await docker(['kill', '-s', 'HUP', 'kasm_proxy']).catch(() => undefined);
  // A busy engine can fail or time out a removal: try again, and say so in the agent's log rather than leave it.
  for (let attempt = 1; ; attempt++) {
    try {
      await docker(['rm', '-f', name]);
      break;
    } catch (error) {
      if (/No such container/.test((error as Error).message)) break;
      log('ERROR', `Removing container (${name}) of kasm (${kasmId}) failed (attempt ${attempt}): ${(error as Error).message}`);
      if (attempt === 3) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
  log('INFO', `Destroyed kasm (${kasmId}) container (${name})`);
}

function body(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      text += chunk;
      if (text.length > 1_000_000) req.destroy();
    });
    req.on('end', () => {
      try {
        resolve(JSON.parse(text || '{}') as Record<string, unknown>);
      } catch (error) {
        reject(error as Error);
      }
    });
  });
}

const server = http.createServer((req, res) => {
  const send = (status: number, value: unknown) => {
    const text = JSON.stringify(value);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  };
  if (req.url === '/__healthcheck') {
    // container-unhealthy: the check Docker's HEALTHCHECK calls fails while sessions keep working.
    if (faults.has('container-unhealthy')) return send(503, { ok: false, error_message: 'agent health check failed' });
    return send(200, { ok: true });
  }
  if (req.headers.authorization !== `Bearer ${settings.token}`) return send(401, { error_message: 'Unauthorized' });
  body(req)
    .then(async (request) => {
      if (req.url === '/provision') {
        const made = (await provision(request as unknown as ProvisionRequest)) as { containerName: string };
        // kasm_api gave up waiting (its 60 s): it will never know of this container, so it must not stay.
        if (res.destroyed || req.socket.destroyed) {
          log('ERROR', `kasm (${String(request.kasm_id)}): the API went away before the provision finished; removing container (${made.containerName})`);
          return destroy(String(request.kasm_id), made.containerName);
        }
        return send(200, made);
      }
      if (req.url === '/destroy') {
        await destroy(String(request.kasm_id), String(request.container));
        return send(200, {});
      }
      return send(404, { error_message: `Unknown agent call ${req.url}` });
    })
    .catch((error: unknown) => {
      log('ERROR', `Error handling ${req.url}: ${String(error)}`);
      send(500, { error_message: String(error) });
    });
});

log('INFO', 'Executing /usr/bin/kasm_agent.so');
log('INFO', 'Received config /opt/kasm/current/conf/app/agent.app.config.yaml');
server.listen(4444, '0.0.0.0');
onStop(() => new Promise<void>((resolve) => server.close(() => resolve())));
