// Every parser of what a host, a log or an engineer hands the suite, against input nobody planned for (fast-check):
// random text and bytes, real lines truncated, spliced, re-encoded and blown up. None may throw, and each reads a
// hundred times the input in about a hundred times the time (linear: no pattern that backtracks on a hostile line).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { analyze } from '../../helpers/analyze/index.ts';
import { parseBrowserCopy } from '../../helpers/logs/browser.ts';
import { parseCurlCertificate, parseCurlCommand } from '../../helpers/logs/curl.ts';
import { isInstallerLine, missingFile, parseInstaller } from '../../helpers/logs/installer.ts';
import { EXCEPTION, parseKasmAgentLog } from '../../helpers/logs/kasm-agent.ts';
import { parseKubectl } from '../../helpers/logs/kubectl.ts';
import { parseDockerPorts, parseDockerPs, parseNetworkAddresses } from '../../helpers/logs/docker-ps.ts';
import { parseIptablesRules, parseUfwStatus } from '../../helpers/logs/firewall.ts';
import { parseIpAddr } from '../../helpers/logs/ip.ts';
import { parseKasmApiLog, slotSearch, tracebackIn } from '../../helpers/logs/kasm-api.ts';
import { kasmIdsInText } from '../../helpers/logs/kasm-id.ts';
import { parseKasmVncLog } from '../../helpers/logs/kasmvnc.ts';
import { parseNginxAccessLog } from '../../helpers/logs/nginx.ts';
import { parseSocketAddress, parseSsListening } from '../../helpers/logs/ss.ts';
import { parseClfTime, parseIsoTime, parseJsonObject, parsePythonTime } from '../../helpers/logs/text.ts';

const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36';

/** Each parser with lines of the form it reads (the guide's and real issues' samples): the seeds mutations start from. */
const PARSERS: Array<{ name: string; parse: (text: string) => unknown; seeds: string[] }> = [
  {
    name: 'kasm_api log',
    parse: parseKasmApiLog,
    seeds: [
      `2023-11-17 18:31:01,529 [INFO] cherrypy.access.140087972390848: - - [17/Nov/2023:18:31:01] "GET /api/kasm_connect/ HTTP/1.0" 202 - "" "${UA}"`,
      '2024-04-10 06:10:55,123 [ERROR] client_api_server: Error provisioning kasm (4f86a3fa): agent did not answer\nTraceback (most recent call last):\n  File "x.py", line 1, in <module>',
      '{"asctime": "2024-04-10 06:10:55,123", "levelname": "INFO", "name": "admin_api_server", "message": "Authenticated kasm_connect request for (/desktop/4f86a3fa-22b5-4ac6-9a1e-0123456789ab/vnc/vnc.html)"}',
    ],
  },
  {
    name: 'nginx access log',
    parse: parseNginxAccessLog,
    seeds: [
      `- - [15/Nov/2023:18:50:20 +0000] "GET /desktop/72248a05-922d-4518-b92f-7a9d1ea529eb/vnc/websockify HTTP/1.1" 101 3104787 "-" "${UA}" "-"`,
      '172.18.0.9 - - [03/Dec/2026:10:00:00 +0000] "GET /api/__healthcheck HTTP/1.1" 499 0 "-" "curl/7.88.1"',
      '{"time_local": "03/Dec/2026:10:00:00 +0000", "request": "GET / HTTP/1.1", "status": "200"}',
    ],
  },
  {
    name: 'docker ps',
    parse: parseDockerPs,
    seeds: [
      'CONTAINER ID   IMAGE                       COMMAND                  CREATED      STATUS                PORTS                                           NAMES\n670da792ed27   postgres:12-alpine          "docker-entrypoint.s…"   7 days ago   Up 7 days (healthy)   5432/tcp                                        kasm_db',
      '{"ID":"5759e5692a85","Image":"kasmweb/api:1.16.0","Names":"kasm_api","Status":"Exited (1) 3 seconds ago","Ports":"0.0.0.0:443-\\u003e443/tcp","CreatedAt":"2024-11-17 21:00:43 +0000 UTC","State":"exited"}',
    ],
  },
  { name: 'docker ports', parse: parseDockerPorts, seeds: ['0.0.0.0:443->443/tcp, [::]:443->443/tcp, 4901/tcp, 127.0.0.1:8443-8444->8443-8444/udp'] },
  { name: 'docker inspect networks', parse: parseNetworkAddresses, seeds: ['{"kasm_default_network":{"IPAddress":"172.18.0.3","Gateway":"172.18.0.1"}}'] },
  {
    name: 'ss -ltn',
    parse: parseSsListening,
    seeds: ['State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\nLISTEN 0      4096         0.0.0.0:443        0.0.0.0:*\nLISTEN 0      4096            [::]:443           [::]:*\nLISTEN 0      511   127.0.0.53%lo:53         0.0.0.0:*'],
  },
  { name: 'ss address', parse: parseSocketAddress, seeds: ['[fe80::1%eth0]:443', '0.0.0.0:443', '*:8443'] },
  {
    name: 'ip -o addr',
    parse: parseIpAddr,
    seeds: ['1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n2: eth0    inet6 fe80::1/64 scope link \\       valid_lft forever preferred_lft forever'],
  },
  {
    name: 'ufw status verbose',
    parse: parseUfwStatus,
    seeds: ['Status: active\nLogging: on (low)\nDefault: deny (incoming), allow (outgoing), disabled (routed)\nNew profiles: skip\n\nTo                         Action      From\n--                         ------      ----\n443/tcp                    DENY IN     Anywhere\n443/tcp (v6)               ALLOW IN    Anywhere (v6)'],
  },
  {
    name: 'iptables -S',
    parse: parseIptablesRules,
    seeds: ['-P INPUT ACCEPT\n-P FORWARD DROP\n-A INPUT -p tcp -m tcp --dport 443 -j DROP\n-A INPUT -s 10.0.0.0/8 -p tcp -m multiport --dports 443,8443 -m comment --comment "kasm \\"x\\"" -j REJECT --reject-with tcp-reset'],
  },
  {
    name: 'KasmVNC log',
    parse: parseKasmVncLog,
    seeds: [
      ' 2023-11-17 14:51:07,525 [INFO] websocket 141: /websockify request failed websocket checks, not a GET request, or missing Upgrade header',
      ' 2023-11-17 14:51:07,525 [INFO] websocket 141: kasm_user "GET /app/sounds/bell.oga HTTP/1.1" 200 8701',
      '(EE) Backtrace:\n(EE) 0: /usr/bin/Xvnc (xorg_backtrace+0x4d) [0x5d5e4b9c2f8d]\n(EE) Segmentation fault at address 0x0',
      // Issue 13's readings: auth in KasmVNC's order, handshake and relay failures, viewer closes, vncserver, fatal TLS.
      ' 2024-11-01 06:19:30,101 [INFO] websocket 4: Authentication attempt failed, user bob does not exist\n 2024-11-01 06:19:30,101 [INFO] websocket 4: Authentication attempt failed, wrong password for user bob',
      " 2024-11-01 06:19:30,103 [INFO] websocket 5: Error: BasicAuth configured to read password from file /home/kasm-user/.kasmpasswd, but the file doesn't exist or has no valid users",
      " 2024-11-01 06:19:30,105 [DEBUG] websocket 6: SSL connection but '/home/kasm-user/.vnc/self.pem' not found",
      ' 2024-11-01 06:19:30,109 [DEBUG] websocket 7: Could not connect to target: Connection refused\n 2024-11-01 06:19:30,110 [DEBUG] websocket 8: Base64 decode error code -1 2024-11-01 06:19:30,110 [DEBUG] websocket 8: decoding error',
      ' 2024-11-01 06:19:30,111 [DEBUG] websocket 9: Request too long (1391) or attempted dir traversal attack, rejecting\n 2024-11-01 06:19:30,111 [INFO] websocket 9: - 172.18.0.5 - "GET - HTTP/1.1" 400 104',
      ' 2024-06-10 18:56:56,818 [PRIO] Connections: accepted: @149.210.159.135_1718038616.812103::websocket\n 2024-06-10 18:58:51,749 [PRIO] Connections: closed: @149.210.159.135_1718038616.812103::websocket (read: Connection reset by peer (104))',
      'Warning: kasm:1 is taken because of /tmp/.X1-lock\nRemove this file if there is no X server kasm:1\nA VNC server is already running as :1',
      'Unable to load private key file /home/kasm-user/.vnc/self.pem\n: No such file or directory\nFailed to configure SSL context: Success',
      '40A69FF0E87F0000:error:0A000416:SSL routines:ssl3_read_bytes:sslv3 alert certificate unknown:../ssl/record/rec_layer_s3.c:1584:SSL alert number 46',
    ],
  },
  {
    name: 'curl -v certificate',
    parse: parseCurlCertificate,
    seeds: ['* Server certificate:\n*  subject: CN=kasm.example.com\n*  start date: Dec  1 00:00:00 2026 GMT\n*  issuer: C=US; O=Example Corp; CN=Example Corp TLS Inspection CA\n*  SSL certificate verify result: unable to get local issuer certificate (20), continuing anyway.'],
  },
  {
    name: 'kasm_api tracebacks and slot search',
    parse: (text: string) => {
      const { entries } = parseKasmApiLog(text);
      return [entries.map(tracebackIn), slotSearch(entries)];
    },
    seeds: [
      '2022-01-18 00:15:34,865 [INFO] root: Initializing Postgres Database\nTraceback (most recent call last):\n  File "psycopg2/__init__.py", line 126, in connect\npsycopg2.OperationalError: could not connect to server: No route to host\n\tIs the server running on host "db" (172.18.0.2) and accepting',
      '2023-06-13 10:20:59,484 [DEBUG] client_api_server: Server 0a4c00dd-84a7-4d34-9bc5-5f0b9f61b3c6 does not have required memory remaining (986501120 remaining)\n2023-06-13 10:20:59,485 [DEBUG] client_api_server: No more slots available for server : (0a4c00dd-84a7-4d34-9bc5-5f0b9f61b3c6)',
    ],
  },
  {
    name: 'kasm_agent log',
    parse: (text: string) => parseKasmAgentLog(text.split('\n')),
    seeds: ['2024-10-22 19:36:02,550 [DEBUG] __main__.handler: Sending manager request (https://kasm.cluster.local:443/manager_api/api/v1/agent_config)\n2024-10-22 19:36:02,557 [DEBUG] __main__.handler: {}'],
  },
  {
    name: 'curl command',
    parse: (text: string) => text.split('\n').map(parseCurlCommand),
    seeds: ['default:~$ curl --insecure https://172.18.0.1', "root@web1:/opt# sudo docker exec -it kasm_api curl -v 'http://localhost:8080/api/__healthcheck'"],
  },
  {
    name: 'browser copy as fetch',
    parse: (text: string) => parseBrowserCopy(text.split('\n')),
    seeds: ['fetch("https://kasm.lan/desktop/[...]/vnc/vnc.html?[...]", {\n  "headers": {\n    "sec-ch-ua": "\\"Chromium\\";v=\\"148\\""\n  },\n  "referrer": "https://kasm.app.lan/",\n  "method": "GET"\n});'],
  },
  {
    name: 'installer output',
    parse: (text: string) => {
      const lines = text.split('\n');
      return [parseInstaller(lines), lines.map((l) => [isInstallerLine(l, true), missingFile(l)])];
    },
    seeds: ['Setting Default Listening Port as 444\nInstalling All Services\nc360c17c2d8f: Pulling fs layer\nError: stat /opt/kasm/1.16.1/conf/app/api.app.config.yaml: no such file or directory'],
  },
  {
    name: 'kubectl tables',
    parse: (text: string) => parseKubectl(text.split('\n')),
    seeds: [
      'kasm            kasm-proxy                           ClusterIP      10.15.250.67    <none>           8080/TCP,8443/TCP                              3d17h',
      'NAMESPACE   NAME                            READY   STATUS             RESTARTS        AGE\nkasm        kasm-api-6d9f7c8b5d-x2k9p       0/1     CrashLoopBackOff   7 (2m13s ago)   15m',
    ],
  },
  { name: 'kasm ids', parse: kasmIdsInText, seeds: ['/desktop/4f86a3fa-22b5-4ac6-9a1e-0123456789ab/vnc/websockify kasm (401963ee87a0e0c1d6d35e6ad1603a2f)'] },
  { name: 'times and JSON', parse: (t: string) => [parsePythonTime(t), parseClfTime(t), parseIsoTime(t), parseJsonObject(t)], seeds: ['2023-11-17 14:51:07,525', '17/Nov/2023:18:31:01 +0000', '2026-12-03T10:00:00.123456789Z', '{"a":{"b":[1,2,{"c":"\\u0000"}]}}'] },
  {
    name: 'analyze: pastes and the later formats',
    parse: analyze,
    seeds: [
      "`websocket 34: Requested file '/websockify'`",
      '│ remote-desktop-vm  2024-06-10 18:56:56,811 [INFO] websocket 0: got client connection from 127.0.0.1   │',
      '> 04133c92af2a   kasmweb/nginx:latest    "/docker-entrypoint.…"   2 hours ago   Up Less than a second             80/tcp, 0.0.0.0:8443->8443/tcp   kasm_proxy',
      'webtop  | (EE) 2: /usr/local/bin/Xvnc (_ZN3rfb11VNCServerST11writeUpdateEv+0x91a) [0x5e9c5e3adfba]',
      ' ⠿ Container kasm_proxy    Stopped     19.9s\ndependency failed to start: container kasm_manager is unhealthy',
      '  {\n    "application": "kasm_api",\n    "levelname": "ERROR",\n    "message": "Traceback (most recent call last):\\nKeyError: \'connection_type\'"\n  },',
      'Executing /usr/bin/kasm_agent.so\nTraceback (most recent call last):\n  File "__init__.py", line 759, in <module>\nTypeError: \'NoneType\' object is not subscriptable\n[9] Failed to execute script \'__init__\' due to unhandled exception!',
      '<html>\n<head><title>504 Gateway Time-out</title></head>\n<body>\n<center>nginx</center>',
      'default:~$ curl --insecure https://172.18.0.1\n<html>\n<head><title>404 Not Found</title></head>\n<hr><center>nginx/1.19.8</center>\n</html>',
      '172.22.0.8 - - [06/Jun/2023:19:59:38 +0000] "POST /manager_api/api/v1/heartbeat HTTP/1.1" 502 150 "-" "Python-urllib/3.8" "-"\n2023/06/06 19:59:35 [notice] 8#8: start worker processes',
      'Installing All Services\nError: stat /opt/kasm/1.16.1/conf/app/api.app.config.yaml: no such file or directory',
      'k8s:~$ sudo kubectl logs kasm-agent\nkasm  kasm-proxy  ClusterIP  10.15.250.67  <none>  8080/TCP,8443/TCP  3d17h',
      'fetch("https://kasm.lan/desktop/x/vnc/vnc.html", {\n  "referrer": "https://kasm.app.lan/",\n});',
    ],
  },
  { name: 'npm run analyze', parse: analyze, seeds: [] },
];
// What an engineer pastes into analyze: any of the above, mixed.
PARSERS.find((p) => p.name === 'npm run analyze')!.seeds = PARSERS.flatMap((p) => p.seeds);

/** Text as it arrives: any code points, raw bytes read as UTF-8 or Latin-1, lone surrogates, CR/LF/NUL runs. */
const hostileText = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 300 }),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.uint8Array({ maxLength: 600 }).map((bytes) => Buffer.from(bytes).toString('utf8')),
  fc.uint8Array({ maxLength: 600 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
  fc.array(fc.constantFrom('\n', '\r\n', '\r', '\0', '\t', ' ', '"', '\\', '[', ']', '{', '}', ':', '->', '%', '\uFFFD', '\uD800'), { maxLength: 200 }).map((parts) => parts.join('')),
);

/** A real line changed the way logs get damaged: cut short, spliced with noise, repeated, re-encoded, mixed up. */
function mutated(seeds: string[]) {
  return fc.tuple(fc.constantFrom(...seeds), fc.nat(), fc.nat(), hostileText, fc.integer({ min: 1, max: 40 })).chain(([seed, a, b, noise, times]) =>
    fc.constantFrom(
      seed.slice(0, a % (seed.length + 1)),
      seed.slice(0, a % (seed.length + 1)) + noise + seed.slice(b % (seed.length + 1)),
      seed.repeat(times),
      Buffer.from(seed, 'utf8').toString('latin1'),
      Buffer.from(seed, 'latin1').toString('utf8'),
      seed.split('').reverse().join(''),
      seed.replace(/ /g, () => (a++ % 3 === 0 ? '\t' : '  ')),
      `${seed}\n${noise}\n${seed}`,
    ),
  );
}

/** Median milliseconds of `runs` parses of the text. */
function timed(parse: (text: string) => unknown, text: string, runs = 3): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    parse(text);
    times.push(performance.now() - started);
  }
  return times.sort((x, y) => x - y)[Math.floor(runs / 2)]!;
}

/** A hundred times the input: how many times as long the parse takes (linear ~100, quadratic ~10,000). */
function growth(parse: (text: string) => unknown, shape: string): { ratio: number; characters: number } {
  const small = shape.repeat(Math.max(1, Math.ceil(2_000 / shape.length)));
  const large = small.repeat(100);
  timed(parse, small, 1);
  return { ratio: timed(parse, large) / Math.max(timed(parse, small), 0.05), characters: large.length };
}
// Linear is ~100; quadratic would be ~10,000. The bound leaves room for a busy CI machine and GC.
const LINEAR_BOUND = 1_000;

describe('every parser, against hostile input', () => {
  it('the growth measure tells a quadratic parse from a linear one', () => {
    // Each line compared with every line before it: the shape a backtracking pattern has.
    const quadratic = (text: string) => {
      const lines = text.split(' ');
      let same = 0;
      for (let i = 0; i < lines.length; i++) for (let j = 0; j < i; j++) if (lines[i] === lines[j]) same++;
      return same;
    };
    assert.ok(growth(quadratic, 'abcdefghi ').ratio > LINEAR_BOUND, 'a quadratic parse passes as linear');
    assert.ok(growth((text) => text.split(' ').length, 'abcdefghi ').ratio < LINEAR_BOUND, 'a linear parse fails');
  });

  for (const { name, parse, seeds } of PARSERS) {
    it(`${name}: random and mutated input never throws`, () => {
      fc.assert(
        fc.property(seeds.length ? fc.oneof(hostileText, mutated(seeds)) : hostileText, (text) => {
          parse(text);
        }),
        { numRuns: 300 },
      );
    });
  }

  it("kasm_agent's exception line: a long dotted name with an exception's suffix in every part and no colon is linear", () => {
    const line = (n: number) => 'aError.'.repeat(n);
    const ratio = timed((text) => EXCEPTION.test(text), line(20_000)) / Math.max(timed((text) => EXCEPTION.test(text), line(200)), 0.05);
    assert.ok(ratio < LINEAR_BOUND, `took ${ratio.toFixed(0)} times as long for 100 times the input`);
  });

  it('analyze: what a paste wraps a line in is taken off in linear time, however long the run of it', () => {
    // Each of these once made a pattern backtrack: a run of backticks, of spaces before the end, of digits in a row.
    // One long run then something else: the shape a backtracking pattern pays for (cubic for the backticks once).
    const run = (shape: string, times: number) => `${shape === 'row' ? '0123456789ab img "c" 2 hours ago Up ' : ''}${(shape === 'row' ? '1' : shape).repeat(times)}${shape === 'row' ? '/tcp /tcp /tcp' : 'x'}`;
    for (const shape of ['`', ' ', '│ ', '> ', 'row']) {
      const ratio = timed(analyze, run(shape, 2_000)) / Math.max(timed(analyze, run(shape, 20)), 0.05);
      assert.ok(ratio < LINEAR_BOUND, `a run of ${JSON.stringify(shape)} took ${ratio.toFixed(0)} times as long for 100 times the input`);
    }
  });

  for (const { name, parse, seeds } of PARSERS) {
    it(`${name}: a hundred times the input takes about a hundred times as long (no backtracking on a long line)`, () => {
      // The worst shapes for a regular expression: one line of a seed's own characters without the delimiters it
      // waits for, and the seeds themselves, repeated.
      const sample = seeds.join('\n') || 'x';
      const shapes = [sample.replace(/[\n"\]}]/g, ' '), `${sample}\n`, `${'a '.repeat(sample.length)}"`];
      for (const shape of shapes) {
        const { ratio, characters } = growth(parse, shape);
        assert.ok(ratio < LINEAR_BOUND, `${name} took ${ratio.toFixed(0)} times as long for 100 times the input (${characters} characters)`);
      }
    });
  }
});
