// kasm_manager and kasm_share in the real-parts lab: what the suite sees of them is a container that starts, logs as
// Kasm's services do and answers its health check (`service.ts <name> <port>`).
import http from 'node:http';
import { kasmApiLine } from '../../logs.ts';
import { onStop, stdoutLog } from './common.ts';

const [name = 'kasm_service', portText = '8181'] = process.argv.slice(2);
const health = Buffer.from('{"ok": true}');
const server = http.createServer((req, res) => {
  const ok = req.url === '/__healthcheck';
  res.writeHead(ok ? 200 : 404, { 'Content-Type': 'application/json', 'Content-Length': ok ? health.length : 2 });
  res.end(ok ? health : '{}');
});
server.listen(Number(portText), '0.0.0.0', () => stdoutLog.write(kasmApiLine('INFO', name, `Starting ${name} on port ${portText}`)));
onStop(() => new Promise<void>((resolve) => server.close(() => resolve())));
