// The Developer API client. Versions differ in how credentials travel (KASM-FACTS §1.1): JSON body keys in 1.7-1.19,
// HTTP Basic in the newer Developer docs; `auto` tries the body first and remembers what the server accepted.
// Errors can come back with a 2xx and an error_message (§1.2), so the body is read before the status is trusted.
import { describeAnswer, serverName } from './http-answer.ts';
import { performance } from 'node:perf_hooks';
import { request, type Agent, type Dispatcher } from 'undici';
import type { KasmConfig } from './config.ts';
import { createDispatcher } from './net.ts';
import { redact } from './redact.ts';
import { usedKasm } from './transport.ts';

export type ApiErrorCode = 'KASM_API_UNREACHABLE' | 'KASM_API_TIMEOUT' | 'KASM_API_AUTH' | 'KASM_API_HTTP' | 'KASM_API_ERROR' | 'KASM_API_MALFORMED' | 'KASM_API_TOO_LARGE';

/**
 * The most of an answer the suite reads: the largest real one it asks for is get_kasms or get_agents of a big
 * deployment, a few MB; anything past this is not Kasm's answer, and must not take the runner's memory.
 */
export const MAX_ANSWER_BYTES = 32 * 1024 * 1024;

class AnswerTooLarge extends Error {}

/** The body as text, refused (and the connection cut) as soon as it passes `max` bytes. */
async function boundedText(body: Dispatcher.ResponseData['body'], max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > max) {
      body.destroy();
      throw new AnswerTooLarge(`the answer passed ${max} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export class KasmApiError extends Error {
  constructor(
    readonly code: ApiErrorCode,
    readonly call: string,
    message: string,
    readonly details: { status?: number; body?: string; errorMessage?: string; server?: string } = {},
    options?: { cause?: unknown },
  ) {
    super(redact(message), options);
    this.name = 'KasmApiError';
  }
}

export interface CallResult<T> {
  body: T;
  status: number;
  ms: number;
}

type Credentials = 'json' | 'basic';

const NETWORK_TIMEOUT = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

export class KasmApiClient {
  #style: Credentials | undefined;

  constructor(
    private readonly config: Pick<KasmConfig, 'url' | 'api' | 'timeouts' | 'tls'>,
    private readonly dispatcher: Dispatcher,
  ) {
    this.#style = config.api.auth === 'auto' ? undefined : config.api.auth;
  }

  /** The credential style the server accepted (after the first call in `auto`). */
  get credentialStyle(): Credentials | undefined {
    return this.#style;
  }

  url(path: string): URL {
    return new URL(path, this.config.url);
  }

  async #send(path: string, body: Record<string, unknown>, style: Credentials, call: string): Promise<{ status: number; text: string; ms: number; server: string | string[] | undefined }> {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    const payload = { ...body };
    if (style === 'basic') headers.authorization = `Basic ${Buffer.from(`${this.config.api.key}:${this.config.api.secret}`).toString('base64')}`;
    else Object.assign(payload, { api_key: this.config.api.key, api_key_secret: this.config.api.secret });
    const started = performance.now();
    usedKasm(this.config);
    try {
      const res = await request(this.url(path), {
        method: 'POST',
        headers,
        body: JSON.stringify(payload),
        dispatcher: this.dispatcher,
        headersTimeout: this.config.timeouts.http,
        bodyTimeout: this.config.timeouts.http,
        signal: AbortSignal.timeout(this.config.timeouts.http),
      });
      const text = await boundedText(res.body, MAX_ANSWER_BYTES);
      return { status: res.statusCode, text, ms: performance.now() - started, server: res.headers.server };
    } catch (error) {
      throw networkError(call, this.url(path), error, this.config.timeouts.http);
    }
  }

  /** POST <api path>/<name> (or /api/admin/<name>) with credentials; returns the parsed body or throws KasmApiError. */
  async call<T = Record<string, unknown>>(name: string, body: Record<string, unknown> = {}, options: { admin?: boolean } = {}): Promise<CallResult<T>> {
    const path = options.admin ? `/api/admin/${name}` : `${this.config.api.path}/${name}`;
    const styles: Credentials[] = this.#style ? [this.#style] : ['json', 'basic'];
    let last: KasmApiError | undefined;
    for (const style of styles) {
      const { status, text, ms, server } = await this.#send(path, body, style, name);
      const parsed = parseBody(text);
      const errorMessage = typeof parsed?.error_message === 'string' ? parsed.error_message : undefined;
      if (status === 401 || status === 403) {
        last = new KasmApiError('KASM_API_AUTH', name, `${path} answered ${status}${errorMessage ? ` "${errorMessage}"` : ''} with ${style === 'json' ? 'api_key/api_key_secret in the JSON body' : 'an HTTP Basic header'}`, { status, body: text.slice(0, 500), ...(errorMessage ? { errorMessage } : {}) });
        continue;
      }
      if (errorMessage !== undefined) {
        throw new KasmApiError('KASM_API_ERROR', name, `${path} answered ${status} with error_message "${errorMessage}"`, { status, errorMessage, body: text.slice(0, 500) });
      }
      if (status < 200 || status >= 300) {
        throw new KasmApiError('KASM_API_HTTP', name, `${path} answered ${describeAnswer(status, text, server)}`, { status, body: text.slice(0, 500), ...(serverName(server) ? { server: serverName(server) } : {}) });
      }
      if (parsed === undefined) {
        throw new KasmApiError('KASM_API_MALFORMED', name, `${path} answered ${status} with a body that is not a JSON object: ${text.slice(0, 120)}`, { status, body: text.slice(0, 500) });
      }
      this.#style = style;
      return { body: parsed as T, status, ms };
    }
    throw last!;
  }

  /** GET /api/__healthcheck without credentials. */
  async health(): Promise<{ status: number; text: string; ms: number; body: Record<string, unknown> | undefined; server: string | undefined }> {
    const url = this.url('/api/__healthcheck');
    const started = performance.now();
    usedKasm(this.config);
    try {
      const res = await request(url, {
        dispatcher: this.dispatcher,
        headersTimeout: this.config.timeouts.http,
        bodyTimeout: this.config.timeouts.http,
        signal: AbortSignal.timeout(this.config.timeouts.http),
      });
      const text = await boundedText(res.body, MAX_ANSWER_BYTES);
      return { status: res.statusCode, text, ms: performance.now() - started, body: parseBody(text), server: serverName(res.headers.server) };
    } catch (error) {
      throw networkError('__healthcheck', url, error, this.config.timeouts.http);
    }
  }
}

function parseBody(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function networkError(call: string, url: URL, error: unknown, timeoutMs: number): KasmApiError {
  if (error instanceof AnswerTooLarge) return new KasmApiError('KASM_API_TOO_LARGE', call, `${url.origin}${url.pathname} answered more than ${MAX_ANSWER_BYTES} bytes: not read (not a Kasm answer; a proxy or a misrouted request?)`, {}, { cause: error });
  const code = (error as { code?: string; cause?: { code?: string } }).code ?? (error as { cause?: { code?: string } }).cause?.code ?? '';
  const name = (error as { name?: string }).name;
  if (NETWORK_TIMEOUT.has(code) || name === 'TimeoutError' || name === 'AbortError') {
    return new KasmApiError('KASM_API_TIMEOUT', call, `${url.origin}${url.pathname} did not answer within ${timeoutMs} ms (${code || name})`, {}, { cause: error });
  }
  const reason = error instanceof Error ? error.message : String(error);
  return new KasmApiError('KASM_API_UNREACHABLE', call, `${url.origin}${url.pathname} could not be reached: ${code ? `${code} ` : ''}${reason}`, {}, { cause: error });
}

/** An API client on its own connection pool, closed when `fn` is done, whatever happened. */
export async function withKasmApi<T>(config: KasmConfig, fn: (api: { client: KasmApiClient; dispatcher: Agent }) => Promise<T>): Promise<T> {
  const dispatcher = createDispatcher({ insecureTls: config.tls.insecure, connectTimeoutMs: config.timeouts.http, ca: config.tls.ca?.pem });
  try {
    return await fn({ client: new KasmApiClient(config, dispatcher), dispatcher });
  } finally {
    await dispatcher.close();
  }
}
