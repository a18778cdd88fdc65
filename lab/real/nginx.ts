// The real-parts lab's nginx configurations: kasm_proxy on WebApp servers and agents in the shape of Kasm's own
// (kasm-helm's proxy config maps, KASM-FACTS.md §4), and the client-facing load balancer with the usual WebSocket
// proxying, whose misconfigurations are the path faults.
import type { FaultName } from '../faults.ts';

const MAIN_FORMAT = `log_format main '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$http_x_forwarded_for"';`;

const head = (workers: number, errorLog: string, accessLog: string) => [
  'user www-data;',
  `worker_processes ${workers};`,
  'pid /run/nginx.pid;',
  `error_log ${errorLog} warn;`,
  'events { worker_connections 1024; }',
  'http {',
  `  ${MAIN_FORMAT}`,
  `  access_log ${accessLog} main;`,
  '  sendfile on;',
  '  server_tokens on;',
  '  client_body_temp_path /tmp/nginx-body;',
  '  proxy_temp_path /tmp/nginx-proxy;',
];

const tls = (cert: string, key: string) => [`    ssl_certificate ${cert};`, `    ssl_certificate_key ${key};`, '    ssl_protocols TLSv1.2 TLSv1.3;'];

/** What kasm_proxy forwards of the browser's cookies: exactly Kasm's three (upstream_proxy.conf). */
export const KASM_COOKIES = 'proxy_set_header Cookie "username=$cookie_username; session_token=$cookie_session_token; kasm_client_key=$cookie_kasm_client_key";';

/** A WebApp server's kasm_proxy: /api/ to kasm_api, /desktop/ after auth_request /kasm_connect (Connect-* headers). */
export function webappProxyConf(): string {
  return [
    ...head(2, '/dev/stderr', '/dev/stdout'),
    '  upstream kasm-api { server kasm_api:8080; keepalive 16; }',
    '  server {',
    '    listen 443 ssl;',
    '    server_name _;',
    ...tls('/etc/nginx/certs/kasm_nginx.crt', '/etc/nginx/certs/kasm_nginx.key'),
    '    location /api/ {',
    '      proxy_pass http://kasm-api;',
    '      proxy_http_version 1.1;',
    '      proxy_set_header Connection "";',
    '      proxy_set_header Host $host;',
    '      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
    '    }',
    '    location /kasm_connect {',
    '      internal;',
    '      proxy_pass http://kasm-api/api/kasm_connect/;',
    '      proxy_pass_request_body off;',
    "      proxy_set_header Content-Length '';",
    '      proxy_set_header X-Original-URI $request_uri;',
    `      ${KASM_COOKIES}`,
    '      proxy_http_version 1.1;',
    '      proxy_set_header Connection "";',
    '    }',
    '    location /desktop/ {',
    '      auth_request /kasm_connect;',
    '      auth_request_set $connect_hostname $upstream_http_connect_hostname;',
    '      auth_request_set $connect_port $upstream_http_connect_port;',
    '      auth_request_set $connect_path $upstream_http_connect_path;',
    '      auth_request_set $connect_auth $upstream_http_connect_auth;',
    '      auth_request_set $connect_kasm_id $upstream_http_connect_kasm_id;',
    '      auth_request_set $connect_schema $upstream_http_connect_schema;',
    '      proxy_http_version 1.1;',
    '      proxy_set_header Upgrade $http_upgrade;',
    '      proxy_set_header Connection "upgrade";',
    '      proxy_set_header Host $host;',
    '      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
    '      proxy_set_header Authorization "${connect_auth}";',
    '      proxy_set_header X-Kasm-ID "${connect_kasm_id}";',
    `      ${KASM_COOKIES}`,
    '      proxy_pass $connect_schema://$connect_hostname:$connect_port/$connect_path;',
    '      proxy_read_timeout 1800s;',
    '      proxy_send_timeout 1800s;',
    '      proxy_connect_timeout 1800s;',
    '      proxy_buffering off;',
    "      add_header 'Access-Control-Allow-Origin' $http_origin 'always';",
    "      add_header 'Access-Control-Allow-Credentials' 'true' 'always';",
    '    }',
    '    location / {',
    '      root /srv/www;',
    '      index index.html;',
    '      add_header Cache-Control no-store;',
    '    }',
    '  }',
    '}',
    '',
  ].join('\n');
}

/**
 * An agent's kasm_proxy: `/agent/` to kasm_agent, `/api/` on to the WebApp server the agent was installed against
 * (`manager`, host:port), as a Kasm agent's proxy passes `/manager_api/` on (its agents call `https://proxy:443/...`),
 * and each session's locations (containers.d, written by kasm_agent with the zone's Upstream Auth Address,
 * lab/real/services/agent.ts), resolved per request as nginx does for a variable upstream: Docker's resolver, so the
 * default address `proxy` is this kasm_proxy itself.
 */
export function agentProxyConf(manager: string): string {
  return [
    ...head(2, '/dev/stderr', '/dev/stdout'),
    '  server {',
    '    listen 443 ssl;',
    '    server_name _;',
    ...tls('/etc/nginx/certs/kasm_nginx.crt', '/etc/nginx/certs/kasm_nginx.key'),
    '    resolver 127.0.0.11 valid=10s ipv6=off;',
    '    resolver_timeout 2s;',
    '    location = /agent/__healthcheck { proxy_pass http://kasm_agent:4444/__healthcheck; }',
    '    location /agent/ { proxy_pass http://kasm_agent:4444/; proxy_read_timeout 90s; }',
    '    location /api/ {',
    `      proxy_pass https://${manager};`,
    '      proxy_http_version 1.1;',
    '      proxy_set_header Connection "";',
    '      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
    '    }',
    '    include /etc/nginx/conf.d/containers.d/*.conf;',
    '  }',
    '}',
    '',
  ].join('\n');
}

export interface LbOptions {
  listen: string;
  webapps: string[];
  faults: ReadonlySet<FaultName>;
  /** websocket-idle-cut: the proxy_read_timeout a device in front of Kasm was set to. */
  idleCutSeconds: number;
  /** tls-inspecting-proxy: where the inspecting device listens for the agents' diverted connections. */
  inspectorListen: string;
  /** network-blip: while this file exists (the lab removes it once nginx has used it), the health path gets no answer. */
  blipMarker: string;
}

/**
 * tls-inspecting-proxy: what a TLS-inspecting device does to the agents' traffic, in real nginx: it ends their TLS
 * with a certificate its own CA signed, and opens its own TLS to the WebApp server (not verified, as such devices
 * are set up to trust the inside), passing the requests on unchanged.
 */
function inspector(options: LbOptions): string[] {
  if (!options.faults.has('tls-inspecting-proxy')) return [];
  return [
    '  server {',
    `    listen ${options.inspectorListen} ssl;`,
    '    server_name _;',
    ...tls('/etc/nginx/certs/inspector.crt', '/etc/nginx/certs/inspector.key'),
    '    location / {',
    '      proxy_http_version 1.1;',
    '      proxy_set_header Host $http_host;',
    '      proxy_set_header Upgrade $http_upgrade;',
    '      proxy_set_header Connection $connection_upgrade;',
    '      proxy_pass https://kasm_webapps;',
    '    }',
    '  }',
  ];
}

/** The client-facing load balancer: every path fault is a line of its config that is wrong (or missing). */
export function lbConf(options: LbOptions): string {
  const f = options.faults;
  const websocket = [
    // websocket-upgrade-stripped: the classic missing lines; nginx then speaks HTTP/1.0 upstream with Connection: close.
    ...(f.has('websocket-upgrade-stripped') ? [] : ['      proxy_http_version 1.1;', '      proxy_set_header Upgrade $http_upgrade;', '      proxy_set_header Connection $connection_upgrade;']),
    // websocket-malformed: a header rule that empties the subprotocol (nginx drops a header set to "").
    ...(f.has('websocket-malformed') ? ['      proxy_set_header Sec-WebSocket-Protocol "";'] : []),
    `      proxy_read_timeout ${f.has('websocket-idle-cut') ? `${options.idleCutSeconds}s` : '3600s'};`,
    '      proxy_send_timeout 3600s;',
  ];
  const common = ['      proxy_set_header Host $http_host;', '      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;', '      proxy_set_header X-Forwarded-Proto https;', '      proxy_buffering off;', '      proxy_pass https://kasm_webapps;'];
  return [
    ...head(2, '/var/log/nginx/error.log', '/var/log/nginx/access.log'),
    '  map $http_upgrade $connection_upgrade { default upgrade; \'\' close; }',
    `  upstream kasm_webapps { ${options.webapps.map((w) => `server ${w};`).join(' ')} }`,
    '  server {',
    `    listen ${options.listen} ssl;`,
    '    server_name _;',
    ...tls('/etc/nginx/certs/kasm_nginx.crt', '/etc/nginx/certs/kasm_nginx.key'),
    '    location ~ /websockify$ {',
    ...(f.has('websocket-blocked') ? ['      if ($http_upgrade ~* "websocket") { return 403; }'] : []),
    ...(f.has('cookie-stripped') ? ['      proxy_set_header Cookie "";'] : []),
    ...websocket,
    ...common,
    '    }',
    '    location /desktop/ {',
    ...(f.has('cookie-stripped') ? ['      proxy_set_header Cookie "";'] : []),
    ...websocket,
    ...common,
    '    }',
    // network-blip: a device failing over closes one connection without an answer (nginx's 444); the lab removes the
    // marker as soon as nginx's access log shows that 444, so the next request passes.
    ...(f.has('network-blip') ? ['    location = /api/__healthcheck {', `      if (-f ${options.blipMarker}) { return 444; }`, ...websocket, ...common, '    }'] : []),
    '    location / {',
    ...websocket,
    ...common,
    '    }',
    '  }',
    ...inspector(options),
    '}',
    '',
  ].join('\n');
}
