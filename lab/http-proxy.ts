// The forwarding core shared by the lab's load balancer and kasm_proxy stand-ins: plain requests and WebSocket
// tunnels, with the status and byte count nginx would put in its access line.
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';

export interface Upstream {
  url: URL;
  /** Headers set on the upstream request (nginx proxy_set_header); undefined removes a header. */
  headers?: Record<string, string | undefined>;
  agent?: http.Agent | false;
}

export interface Exchange {
  status: number;
  /** Body bytes sent to the client (nginx $body_bytes_sent; the tunnel's bytes for a WebSocket). */
  bytes: number;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

const REASONS: Record<number, string> = { 401: 'Unauthorized', 403: 'Forbidden', 500: 'Internal Server Error', 502: 'Bad Gateway', 504: 'Gateway Time-out' };

/** nginx's own error page, byte for byte, so a 502 from the lab reads like one from kasm_proxy. */
export function nginxErrorPage(status: number): string {
  const title = `${status} ${REASONS[status] ?? http.STATUS_CODES[status] ?? ''}`;
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
}

export function sendNginxError(res: http.ServerResponse, status: number): Exchange {
  const body = nginxErrorPage(status);
  res.writeHead(status, { 'Content-Type': 'text/html', 'Content-Length': Buffer.byteLength(body), Server: 'nginx' });
  res.end(body);
  return { status, bytes: Buffer.byteLength(body) };
}

function upstreamHeaders(req: http.IncomingMessage, upstream: Upstream, upgrade: boolean): http.OutgoingHttpHeaders {
  const headers: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (!HOP_BY_HOP.has(name) && value !== undefined) headers[name] = value;
  }
  if (upgrade && req.headers.upgrade) {
    headers.upgrade = req.headers.upgrade;
    headers.connection = 'upgrade';
  }
  for (const [name, value] of Object.entries(upstream.headers ?? {})) {
    if (value === undefined) delete headers[name.toLowerCase()];
    else headers[name.toLowerCase()] = value;
  }
  return headers;
}

function requestUpstream(req: http.IncomingMessage, upstream: Upstream, upgrade: boolean): http.ClientRequest {
  const client = upstream.url.protocol === 'https:' ? https : http;
  return client.request(upstream.url, {
    method: req.method,
    headers: upstreamHeaders(req, upstream, upgrade),
    agent: upstream.agent ?? false,
    rejectUnauthorized: false,
  });
}

export function forwardRequest(req: http.IncomingMessage, res: http.ServerResponse, upstream: Upstream): Promise<Exchange> {
  return new Promise((resolve) => {
    const outgoing = requestUpstream(req, upstream, false);
    outgoing.on('response', (incoming) => {
      const headers = { ...incoming.headers };
      for (const name of HOP_BY_HOP) delete headers[name];
      res.writeHead(incoming.statusCode ?? 502, incoming.statusMessage, headers);
      let bytes = 0;
      incoming.on('data', (chunk: Buffer) => (bytes += chunk.length));
      incoming.pipe(res);
      res.on('close', () => resolve({ status: incoming.statusCode ?? 502, bytes }));
    });
    outgoing.on('error', () => {
      if (!res.headersSent) resolve(sendNginxError(res, 502));
      else {
        res.destroy();
        resolve({ status: res.statusCode, bytes: 0 });
      }
    });
    req.pipe(outgoing);
  });
}

function writeHead(socket: Duplex, status: number, message: string, headers: http.IncomingHttpHeaders | Record<string, string>): void {
  const lines = [`HTTP/1.1 ${status} ${message}`];
  for (const [name, value] of Object.entries(headers)) {
    for (const item of Array.isArray(value) ? value : [value]) if (item !== undefined) lines.push(`${name}: ${item}`);
  }
  socket.write(`${lines.join('\r\n')}\r\n\r\n`);
}

/** Answers an upgrade request with a plain HTTP response and closes, as nginx does when it refuses one. */
export function rejectUpgrade(socket: Duplex, status: number, body = nginxErrorPage(status)): Exchange {
  writeHead(socket, status, REASONS[status] ?? http.STATUS_CODES[status] ?? '', {
    Server: 'nginx',
    'Content-Type': 'text/html',
    'Content-Length': String(Buffer.byteLength(body)),
    Connection: 'close',
  });
  socket.end(body);
  return { status, bytes: Buffer.byteLength(body) };
}

/** Tunnels a WebSocket; resolves when the tunnel closes, which is when nginx writes the access line. */
export function forwardUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, upstream: Upstream): Promise<Exchange> {
  return new Promise((resolve) => {
    const outgoing = requestUpstream(req, upstream, true);
    let settled = false;
    const settle = (exchange: Exchange) => {
      if (!settled) {
        settled = true;
        resolve(exchange);
      }
    };
    outgoing.on('upgrade', (incoming, tunnel, tunnelHead) => {
      writeHead(socket, 101, incoming.statusMessage || 'Switching Protocols', incoming.headers);
      let bytes = tunnelHead.length;
      if (tunnelHead.length) socket.write(tunnelHead);
      if (head.length) tunnel.write(head);
      tunnel.on('data', (chunk: Buffer) => (bytes += chunk.length));
      tunnel.pipe(socket);
      socket.pipe(tunnel);
      const close = () => {
        tunnel.destroy();
        socket.destroy();
        settle({ status: 101, bytes });
      };
      tunnel.on('close', close);
      socket.on('close', close);
      tunnel.on('error', close);
      socket.on('error', close);
    });
    outgoing.on('response', (incoming) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () => {
        const body = Buffer.concat(chunks);
        const headers = { ...incoming.headers, 'content-length': String(body.length), connection: 'close' };
        delete headers['transfer-encoding'];
        writeHead(socket, incoming.statusCode ?? 502, incoming.statusMessage ?? '', headers);
        socket.end(body);
        settle({ status: incoming.statusCode ?? 502, bytes: body.length });
      });
    });
    outgoing.on('error', () => settle(rejectUpgrade(socket, 502)));
    socket.on('error', () => outgoing.destroy());
    outgoing.end();
  });
}
