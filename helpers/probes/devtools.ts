// What the browser really sent and got, from Chromium's DevTools protocol: request headers with the cookies that
// went out (and the ones it blocked, with Chromium's reasons), Set-Cookie headers it refused, per-phase timings,
// and the WebSocket handshake with its status (Playwright's WebSocket object hides the 101).
import type { CDPSession, Page } from '@playwright/test';
import { redact, registerSecret } from '../redact.ts';

const SECRET_COOKIE = /token|session|auth|key/i;

export interface CookieCopy {
  name: string;
  domain: string;
  path: string;
  secure: boolean;
  httpOnly: boolean;
  sameSite: string;
  /** Chromium's reasons when it did not send (or did not store) this cookie. */
  blockedReasons: string[];
}

export interface PhaseTimings {
  dnsMs: number | null;
  connectMs: number | null;
  tlsMs: number | null;
  firstByteMs: number | null;
}

export interface RequestRecord {
  id: string;
  url: string;
  method: string;
  type: string;
  /** Cookie names in the order the Cookie header carried them (values never kept). */
  cookieHeaderNames: string[];
  sent: CookieCopy[];
  blocked: CookieCopy[];
  status?: number;
  timings?: PhaseTimings;
  failure?: { errorText: string; corsError?: string; blockedReason?: string };
  extraInfo: boolean;
}

export interface WebSocketRecord {
  id: string;
  url: string;
  createdAt: number;
  requestCookieNames: string[];
  requestHeaders?: Record<string, string>;
  status?: number;
  statusText?: string;
  responseHeaders?: Record<string, string>;
  protocol?: string;
  handshakeMs?: number;
  error?: string;
  closedAt?: number;
}

export interface SetCookieBlock {
  url: string;
  name: string;
  reasons: string[];
}

export interface ConsoleRecord {
  level: string;
  text: string;
  url?: string;
}

interface CdpCookie {
  name: string;
  value?: string;
  domain: string;
  path: string;
  secure: boolean;
  httpOnly: boolean;
  sameSite?: string;
}

const cookieNames = (header: string | undefined) =>
  (header ?? '')
    .split(';')
    .map((part) => part.split('=')[0]!.trim())
    .filter(Boolean);

const headerValue = (headers: Record<string, string> | undefined, name: string) =>
  Object.entries(headers ?? {}).find(([key]) => key.toLowerCase() === name)?.[1];

const copy = (cookie: CdpCookie, blockedReasons: string[] = []): CookieCopy => ({
  name: cookie.name,
  domain: cookie.domain,
  path: cookie.path,
  secure: cookie.secure,
  httpOnly: cookie.httpOnly,
  sameSite: cookie.sameSite ?? 'unset',
  blockedReasons,
});

const phase = (start: number | undefined, end: number | undefined) => (start === undefined || end === undefined || start < 0 || end < 0 ? null : Math.round(end - start));

/** DevTools joins repeated Set-Cookie headers with newlines: every cookie's value goes, its name and attributes stay. */
const redactSetCookie = (value: string) =>
  value
    .split(/\r?\n/)
    .map((line) => line.replace(/=[^;]*/, '=[REDACTED]'))
    .join('\n');

/** Headers as they may appear in a report: cookie and credential values scrubbed. */
export function redactHeaders(headers: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const lower = name.toLowerCase();
    out[name] = lower === 'cookie' ? cookieNames(value).map((n) => `${n}=[REDACTED]`).join('; ') : lower === 'set-cookie' ? redactSetCookie(value) : redact(value);
  }
  return out;
}

/** What a recording holds, as plain data: written once by the worker that observed the session, read by the checks. */
export interface RecordingData {
  requests: RequestRecord[];
  websockets: WebSocketRecord[];
  setCookieBlocked: SetCookieBlock[];
  console: ConsoleRecord[];
}

/** A recording and the questions the checks ask of it. */
export class Recording {
  readonly requests = new Map<string, RequestRecord>();
  readonly websockets = new Map<string, WebSocketRecord>();
  readonly setCookieBlocked: SetCookieBlock[] = [];
  readonly console: ConsoleRecord[] = [];

  static from(data: RecordingData): Recording {
    const recording = new Recording();
    for (const request of data.requests) recording.requests.set(request.id, request);
    for (const ws of data.websockets) recording.websockets.set(ws.id, ws);
    recording.setCookieBlocked.push(...data.setCookieBlocked);
    recording.console.push(...data.console);
    return recording;
  }

  data(): RecordingData {
    return { requests: [...this.requests.values()], websockets: [...this.websockets.values()], setCookieBlocked: this.setCookieBlocked, console: this.console };
  }

  /** The first request whose URL path matches, e.g. the session's vnc.html. */
  find(path: RegExp): RequestRecord | undefined {
    return [...this.requests.values()].find((r) => path.test(r.url.replace(/[?#].*$/, '')));
  }

  desktopSocket(): WebSocketRecord | undefined {
    return [...this.websockets.values()].find((ws) => ws.url.includes('/websockify'));
  }

  /** The browser's own words for a refused upgrade ("Unexpected response code: 403"). */
  websocketConsoleErrors(): string[] {
    return this.console.filter((c) => /WebSocket/i.test(c.text) && c.level === 'error').map((c) => c.text);
  }

  corsErrors(): Array<{ text: string; origin: string | undefined }> {
    const fromConsole = this.console
      .filter((c) => /CORS policy|Cross-Origin|Access-Control-Allow-Origin/i.test(c.text))
      .map((c) => ({ text: c.text, origin: /from origin '([^']+)'/.exec(c.text)?.[1] }));
    const fromNetwork = [...this.requests.values()]
      .filter((r) => r.failure?.corsError)
      .map((r) => ({ text: `${r.failure!.corsError} for ${r.url.replace(/[?#].*$/, '')}`, origin: safeOrigin(r.url) }));
    return [...fromConsole, ...fromNetwork];
  }
}

export class DevtoolsRecorder extends Recording {
  readonly #handshakeStarted = new Map<string, number>();

  private constructor(private readonly cdp: CDPSession) {
    super();
  }

  static async attach(page: Page): Promise<DevtoolsRecorder> {
    const cdp = await page.context().newCDPSession(page);
    const recorder = new DevtoolsRecorder(cdp);
    recorder.#listen();
    page.on('console', (message) => recorder.console.push({ level: message.type(), text: redact(message.text()), url: message.location().url?.replace(/[?#].*$/, '') }));
    page.on('pageerror', (error) => recorder.console.push({ level: 'pageerror', text: redact(error.message) }));
    await cdp.send('Network.enable');
    return recorder;
  }

  #request(id: string): RequestRecord {
    let record = this.requests.get(id);
    if (!record) {
      record = { id, url: '', method: '', type: '', cookieHeaderNames: [], sent: [], blocked: [], extraInfo: false };
      this.requests.set(id, record);
    }
    return record;
  }

  #listen(): void {
    const { cdp } = this;
    cdp.on('Network.requestWillBeSent', (event) => {
      const record = this.#request(event.requestId);
      Object.assign(record, { url: event.request.url, method: event.request.method, type: event.type ?? '' });
    });
    cdp.on('Network.requestWillBeSentExtraInfo', (event) => {
      const record = this.#request(event.requestId);
      record.extraInfo = true;
      record.cookieHeaderNames = cookieNames(headerValue(event.headers as Record<string, string>, 'cookie'));
      for (const associated of event.associatedCookies ?? []) {
        const reasons = associated.blockedReasons ?? [];
        // The session cookie's value is a secret the run learned: redacted wherever it turns up later.
        if (SECRET_COOKIE.test(associated.cookie.name)) registerSecret((associated.cookie as CdpCookie).value);
        (reasons.length ? record.blocked : record.sent).push(copy(associated.cookie as CdpCookie, reasons));
      }
    });
    cdp.on('Network.responseReceived', (event) => {
      const record = this.#request(event.requestId);
      const t = event.response.timing;
      record.status = event.response.status;
      if (t) {
        record.timings = { dnsMs: phase(t.dnsStart, t.dnsEnd), connectMs: phase(t.connectStart, t.connectEnd), tlsMs: phase(t.sslStart, t.sslEnd), firstByteMs: phase(t.sendStart, t.receiveHeadersEnd) };
      }
    });
    cdp.on('Network.responseReceivedExtraInfo', (event) => {
      const url = this.requests.get(event.requestId)?.url ?? '';
      for (const blocked of event.blockedCookies ?? []) {
        const name = blocked.cookie?.name ?? blocked.cookieLine.split('=')[0]!.trim();
        this.setCookieBlocked.push({ url: url.replace(/[?#].*$/, ''), name, reasons: blocked.blockedReasons });
      }
    });
    cdp.on('Network.loadingFailed', (event) => {
      const record = this.#request(event.requestId);
      record.failure = { errorText: event.errorText, ...(event.corsErrorStatus ? { corsError: event.corsErrorStatus.corsError } : {}), ...(event.blockedReason ? { blockedReason: event.blockedReason } : {}) };
    });
    cdp.on('Network.webSocketCreated', (event) => {
      this.websockets.set(event.requestId, { id: event.requestId, url: event.url, createdAt: performance.now(), requestCookieNames: [] });
    });
    cdp.on('Network.webSocketWillSendHandshakeRequest', (event) => {
      const ws = this.websockets.get(event.requestId);
      if (!ws) return;
      this.#handshakeStarted.set(event.requestId, event.timestamp);
      ws.requestHeaders = redactHeaders(event.request.headers as Record<string, string>);
      ws.requestCookieNames = cookieNames(headerValue(event.request.headers as Record<string, string>, 'cookie'));
    });
    cdp.on('Network.webSocketHandshakeResponseReceived', (event) => {
      const ws = this.websockets.get(event.requestId);
      if (!ws) return;
      const headers = event.response.headers as Record<string, string>;
      ws.status = event.response.status;
      ws.statusText = event.response.statusText;
      ws.responseHeaders = redactHeaders(headers);
      ws.protocol = headerValue(headers, 'sec-websocket-protocol');
      const started = this.#handshakeStarted.get(event.requestId);
      if (started !== undefined) ws.handshakeMs = Math.round((event.timestamp - started) * 1000);
      if (event.response.requestHeadersText || event.response.requestHeaders) {
        const requestHeaders = event.response.requestHeaders as Record<string, string> | undefined;
        if (requestHeaders) {
          ws.requestHeaders = redactHeaders(requestHeaders);
          ws.requestCookieNames = cookieNames(headerValue(requestHeaders, 'cookie'));
        }
      }
    });
    cdp.on('Network.webSocketFrameError', (event) => {
      const ws = this.websockets.get(event.requestId);
      if (ws) ws.error = redact(event.errorMessage);
    });
    cdp.on('Network.webSocketClosed', (event) => {
      const ws = this.websockets.get(event.requestId);
      if (ws) ws.closedAt = performance.now();
    });
  }

  async detach(): Promise<void> {
    await this.cdp.detach().catch(() => undefined);
  }
}

function safeOrigin(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}
