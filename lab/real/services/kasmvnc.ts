// A session container's KasmVNC in the real-parts lab: the lab's KasmVNC (lab/kasmvnc.ts) on NO_VNC_PORT with the
// session's VNC_PW as the Basic auth password of kasm_user, logging to ~/.vnc/<hostname>:1.log, which vnc_startup.sh
// also tails onto the container's stdout. VNC_PW is not the VncAuth password: as vncserver does in Kasm's images,
// RFB's VncAuth is checked against the empty password (lab/kasmvnc.ts), which every viewer answers with.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import selfsigned from 'selfsigned';
import { startKasmVnc } from '../../kasmvnc.ts';
import { FileFaults, onStop } from './common.ts';

const home = process.env.HOME ?? '/home/kasm-user';
const host = hostname();
const logFile = join(home, '.vnc', `${host}:1.log`);
mkdirSync(join(home, '.vnc'), { recursive: true });
writeFileSync(logFile, '');
// vnc_startup.sh: `tail -f $HOME/.vnc/*$DISPLAY.log &`, so `docker logs <session>` shows KasmVNC's lines too.
const tail = spawn('/usr/bin/tail', ['-n', '+1', '-F', logFile], { stdio: ['ignore', 'inherit', 'ignore'] });
console.log(' ------------------ Xvnc started ------------------');
// The image's self-signed certificate (CN=kasm), as `${HOME}/.vnc/self.pem` is made in Kasm's images.
const pems = await selfsigned.generate([{ name: 'commonName', value: 'kasm' }], { keyType: 'ec', algorithm: 'sha256' });
const faults = new FileFaults('/etc/kasm/faults.json');
const vnc = await startKasmVnc({
  host: '0.0.0.0',
  port: Number(process.env.NO_VNC_PORT ?? 6901),
  tls: { key: pems.private, cert: pems.cert },
  password: process.env.VNC_PW ?? 'vncpassword',
  logFile,
  faults: () => faults.active,
  version: process.env.KASM_LAB_XVNC_VERSION,
  logLevel: Number(process.env.KASM_LAB_KASMVNC_LOG_LEVEL ?? 100),
  desktop: { width: 1024, height: 640, label: process.env.KASM_LAB_DESKTOP_LABEL ?? 'Ubuntu Jammy' },
});
onStop(async () => {
  await vnc.close();
  tail.kill();
});
