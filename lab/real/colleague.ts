// Other users' traffic, as on any Kasm in use: a colleague's session, opened through the Developer API, whose
// browser keeps requesting its desktop. The colleague reaches the WebApp server directly (an office user inside the
// network), not through the load balancer, so a path fault there leaves its calls untouched, and kasm_api and the
// agent's kasm_proxy keep logging 202s and 200s for another session while the suite judges its own.
import https from 'node:https';
import type { LabImage, LabUser } from '../kasm-api.ts';

export interface Colleague {
  kasmId: string;
  stop(): void;
}

function call(port: number, method: string, path: string, options: { body?: unknown; cookie?: string; referer?: string } = {}): Promise<{ status: number; body: unknown; cookies: string[] }> {
  const text = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, method, path, rejectUnauthorized: false, servername: 'kasm.localhost', timeout: 15_000, headers: { Host: 'kasm.localhost', ...(text ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) } : {}), ...(options.cookie ? { Cookie: options.cookie } : {}), ...(options.referer ? { Referer: options.referer } : {}), 'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64) colleague' } },
      (res) => {
        let answer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (answer += chunk));
        res.on('end', () => {
          let body: unknown = answer;
          try {
            body = JSON.parse(answer);
          } catch {
            // Not JSON (vnc.html): kept as text.
          }
          const setCookie = res.headers['set-cookie'] ?? [];
          resolve({ status: res.statusCode ?? 0, body, cookies: setCookie.map((c) => c.split(';')[0]!) });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${path} did not answer`)));
    req.on('error', reject);
    req.end(text);
  });
}

export async function startColleague(options: { port: number; apiKey: string; apiSecret: string; user: Pick<LabUser, 'userId'>; image: LabImage; everyMs?: number }): Promise<Colleague> {
  const credentials = { api_key: options.apiKey, api_key_secret: options.apiSecret };
  const requested = (await call(options.port, 'POST', '/api/public/request_kasm', { body: { ...credentials, user_id: options.user.userId, image_id: options.image.image_id } })).body as { kasm_id?: string; error_message?: string };
  const kasmId = requested.kasm_id;
  if (!kasmId) throw new Error(`the colleague's session was refused: ${requested.error_message ?? 'no kasm_id'}`);
  let link = '';
  const deadline = Date.now() + 60_000;
  for (;;) {
    const status = (await call(options.port, 'POST', '/api/public/get_kasm_status', { body: { ...credentials, user_id: options.user.userId, kasm_id: kasmId } })).body as { operational_status?: string; kasm_url?: string };
    if (status.operational_status === 'running' && status.kasm_url) {
      link = status.kasm_url;
      break;
    }
    if (Date.now() > deadline) throw new Error(`the colleague's session ${kasmId} did not start within 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const token = link.split('/').at(-1)!;
  const login = await call(options.port, 'POST', '/api/public/authenticate', { body: { token, user_id: options.user.userId } });
  const cookie = login.cookies.filter((c) => /^(username|session_token)=/.test(c)).join('; ');
  const page = `/desktop/${kasmId}/vnc/vnc.html`;
  let stopped = false;
  const timer = setInterval(() => {
    if (!stopped) void call(options.port, 'GET', page, { cookie, referer: `https://kasm.localhost${page}` }).catch(() => undefined);
  }, options.everyMs ?? 500);
  return {
    kasmId,
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
