// Kasm's images, made on each lab host by `docker import` (no registry is reachable): a small root filesystem of the
// lab's own (accounts, mount points, the `Xvnc` banner program) with Kasm's tags, commands and HEALTHCHECKs, while the
// programs come from this machine's /usr, bind-mounted read-only into every container as a volume. Importing takes a
// fraction of a second, so each lab start makes them anew and nothing is left in a registry or cache.
import { chmodSync, chownSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RealHost } from './host.ts';
import { run } from './run.ts';

export { KASM_VERSION } from '../index.ts';
import { KASM_VERSION } from '../index.ts';
import { DEFAULT_VERSION } from '../kasmvnc.ts';

const XVNC_BANNER = `Xvnc ${DEFAULT_VERSION}`;

export interface ImageSpec {
  tag: string;
  /** Dockerfile instructions for `docker import --change`. */
  changes: string[];
}

const health = (url: string) => `HEALTHCHECK --interval=1s --timeout=2s --retries=2 CMD ["/usr/bin/curl", "-fsS", "-o", "/dev/null", "${url}"]`;
const PATH = 'ENV PATH=/opt/kasmvnc/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export const IMAGES = {
  proxy: { tag: 'kasmweb/nginx:1.25.1', changes: [PATH, 'EXPOSE 443', 'CMD ["/usr/sbin/nginx", "-g", "daemon off;"]'] },
  api: { tag: `kasmweb/api:${KASM_VERSION}`, changes: [PATH, 'EXPOSE 8080', health('http://localhost:8080/api/__healthcheck')] },
  manager: { tag: `kasmweb/manager:${KASM_VERSION}`, changes: [PATH, 'EXPOSE 8181', health('http://localhost:8181/__healthcheck')] },
  share: { tag: `kasmweb/share:${KASM_VERSION}`, changes: [PATH, 'EXPOSE 8182', health('http://localhost:8182/__healthcheck')] },
  agent: { tag: `kasmweb/agent:${KASM_VERSION}`, changes: [PATH, 'EXPOSE 4444', health('http://localhost:4444/__healthcheck')] },
  desktop: { tag: `kasmweb/ubuntu-jammy-desktop:${KASM_VERSION}`, changes: [PATH, 'ENV HOME=/home/kasm-user', 'ENV DISPLAY=:1', 'ENV NO_VNC_PORT=6901', 'USER 1000', 'WORKDIR /home/kasm-user', 'EXPOSE 4901 5901 6901'] },
} as const satisfies Record<string, ImageSpec>;

/** The image's own files; the rest of a container's filesystem is the machine's /usr. */
export function makeRootfs(dir: string): void {
  for (const sub of ['usr', 'etc', 'root', 'proc', 'sys', 'dev', 'tmp', 'run', 'var/log/nginx', 'var/lib/nginx', 'var/cache/nginx', 'home/kasm-user', 'opt/kasm-synthetics', 'opt/kasmvnc/bin', 'srv/www']) mkdirSync(join(dir, sub), { recursive: true });
  for (const link of ['bin', 'lib', 'lib64', 'sbin']) symlinkSync(`usr/${link}`, join(dir, link));
  chmodSync(join(dir, 'tmp'), 0o1777);
  writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\nkasm-user:x:1000:1000::/home/kasm-user:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n');
  writeFileSync(join(dir, 'etc/group'), 'root:x:0:\nwww-data:x:33:\nkasm-user:x:1000:\nnogroup:x:65534:\n');
  writeFileSync(join(dir, 'etc/nsswitch.conf'), 'passwd: files\ngroup: files\nhosts: files dns\n');
  // Xvnc prints its banner on stderr (vncPrintBanner); `docker exec <session> Xvnc -version` is how support asks.
  writeFileSync(join(dir, 'opt/kasmvnc/bin/Xvnc'), `#!/bin/sh\nprintf '\\n${XVNC_BANNER}\\nCopyright (C) 1999-2018 KasmVNC Team and many others (see README.me)\\nSee http://kasmweb.com for information on KasmVNC.\\nUnderlying X server release 12014000, The X.Org Foundation\\n\\n' >&2\n`, { mode: 0o755 });
  // The session's user writes ~/.vnc there, as in Kasm's images.
  chownSync(join(dir, 'home/kasm-user'), 1000, 1000);
}

export async function importImages(host: RealHost, rootfs: string, images: readonly ImageSpec[]): Promise<void> {
  for (const image of images) {
    await run('/bin/sh', ['-c', `tar --numeric-owner -C "$1" -c . | /usr/bin/docker -H "unix://$2" import ${image.changes.map((c) => `--change '${c.replaceAll("'", "'\\''")}'`).join(' ')} - "$3" >/dev/null`, 'sh', rootfs, host.dockerSocket, image.tag], { timeoutMs: 60_000 });
  }
}
