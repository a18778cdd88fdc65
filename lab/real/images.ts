// Kasm's images, made on each lab host by `docker import` (no registry is reachable): a small root filesystem of the
// lab's own (accounts, mount points, the `Xvnc` banner program) with Kasm's tags, commands and HEALTHCHECKs, while the
// programs come from this machine's /usr, bind-mounted read-only into every container as a volume. Importing takes a
// fraction of a second, so each lab start makes them anew and nothing is left in a registry or cache.
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
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

/** Debian's PostgreSQL programs (postgresql-<major>), the newest installed; kasm_db runs them. */
export function postgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, 'bin', 'postgres'))) : [];
  const newest = majors.sort((a, b) => Number(b) - Number(a))[0];
  return newest ? join(root, newest, 'bin') : undefined;
}
const PG_BIN = postgresBin() ?? '/usr/lib/postgresql/15/bin';
/** PostgreSQL's data directory in the image (the official image's), owned by its postgres user (uid 70, as Alpine's). */
const PG_DATA = '/var/lib/postgresql/data';
/**
 * Redis from Debian's redis-tools: the server is the same program as redis-check-rdb and chooses its part by the name
 * it is started as (Debian's redis-server package is only that link plus a system service, which the lab must not
 * start on the machine), so the image links the name.
 */
const REDIS_SERVER = '/opt/redis/bin/redis-server';
const INITDB_ARGS = ['--username=kasmapp', '--auth-local=trust', '--auth-host=scram-sha-256', '--encoding=UTF8', '--locale=C'];
/** Kasm's services reach kasm_db over kasm_default_network. */
const PG_HBA_LAN = 'host all all 172.18.0.0/16 scram-sha-256';

const health = (url: string) => `HEALTHCHECK --interval=1s --timeout=2s --retries=2 CMD ["/usr/bin/curl", "-fsS", "-o", "/dev/null", "${url}"]`;
const PATH = 'ENV PATH=/opt/kasmvnc/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export const IMAGES = {
  proxy: { tag: 'kasmweb/nginx:1.25.1', changes: [PATH, 'EXPOSE 443', 'CMD ["/usr/sbin/nginx", "-g", "daemon off;"]'] },
  api: { tag: `kasmweb/api:${KASM_VERSION}`, changes: [PATH, 'EXPOSE 8080', health('http://localhost:8080/api/__healthcheck')] },
  manager: { tag: `kasmweb/manager:${KASM_VERSION}`, changes: [PATH, 'EXPOSE 8181', health('http://localhost:8181/__healthcheck')] },
  share: { tag: `kasmweb/share:${KASM_VERSION}`, changes: [PATH, 'EXPOSE 8182', health('http://localhost:8182/__healthcheck')] },
  // Kasm's own probes (kasm-helm): `pg_isready --port=5432`, `redis-cli ping | grep -q PONG`.
  db: { tag: `kasmweb/postgres:${KASM_VERSION}`, changes: [`ENV PATH=${PG_BIN}:/usr/local/bin:/usr/bin:/bin`, `ENV PGDATA=${PG_DATA}`, 'USER 70', 'EXPOSE 5432', 'CMD ["/docker-entrypoint.sh"]', `HEALTHCHECK --interval=1s --timeout=2s --retries=2 CMD ["${PG_BIN}/pg_isready", "--host=127.0.0.1", "--port=5432"]`] },
  redis: { tag: 'redis:5-alpine', changes: ['ENV PATH=/opt/redis/bin:/usr/local/bin:/usr/bin:/bin', 'USER 999', 'EXPOSE 6379', `CMD ["${REDIS_SERVER}", "--port", "6379", "--protected-mode", "no", "--save", "", "--appendonly", "no", "--dir", "/tmp"]`, 'HEALTHCHECK --interval=1s --timeout=2s --retries=2 CMD ["/bin/sh", "-c", "redis-cli -p 6379 ping | grep -q PONG"]'] },
  agent: { tag: `kasmweb/agent:${KASM_VERSION}`, changes: [PATH, 'EXPOSE 4444', health('http://localhost:4444/__healthcheck')] },
  desktop: { tag: `kasmweb/ubuntu-jammy-desktop:${KASM_VERSION}`, changes: [PATH, 'ENV HOME=/home/kasm-user', 'ENV DISPLAY=:1', 'ENV NO_VNC_PORT=6901', 'USER 1000', 'WORKDIR /home/kasm-user', 'EXPOSE 4901 5901 6901'] },
} as const satisfies Record<string, ImageSpec>;

/** The image's own files; the rest of a container's filesystem is the machine's /usr. */
export function makeRootfs(dir: string): void {
  for (const sub of ['var/lib/postgresql/data', 'var/run/postgresql', 'opt/redis/bin', 'usr', 'etc', 'root', 'proc', 'sys', 'dev', 'tmp', 'run', 'var/log/nginx', 'var/lib/nginx', 'var/cache/nginx', 'home/kasm-user', 'opt/kasm-synthetics', 'opt/kasmvnc/bin', 'srv/www']) mkdirSync(join(dir, sub), { recursive: true });
  for (const link of ['bin', 'lib', 'lib64', 'sbin']) symlinkSync(`usr/${link}`, join(dir, link));
  chmodSync(join(dir, 'tmp'), 0o1777);
  writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\npostgres:x:70:70:postgres:/var/lib/postgresql:/bin/sh\nredis:x:999:999:redis:/data:/bin/sh\nkasm-user:x:1000:1000::/home/kasm-user:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n');
  writeFileSync(join(dir, 'etc/group'), 'root:x:0:\nwww-data:x:33:\npostgres:x:70:\nredis:x:999:\nkasm-user:x:1000:\nnogroup:x:65534:\n');
  for (const sub of ['var/lib/postgresql', 'var/lib/postgresql/data', 'var/run/postgresql']) chownSync(join(dir, sub), 70, 70);
  chmodSync(join(dir, 'var/lib/postgresql/data'), 0o700);
  symlinkSync('/usr/bin/redis-check-rdb', join(dir, REDIS_SERVER.slice(1)));
  // kasm_db's entrypoint, as the official postgres image's: the cluster is made at the first start, then the server.
  writeFileSync(
    join(dir, 'docker-entrypoint.sh'),
    [
      '#!/bin/sh',
      'set -eu',
      'if [ ! -s "$PGDATA/PG_VERSION" ]; then',
      `  initdb ${INITDB_ARGS.join(' ')} -D "$PGDATA" >/dev/null`,
      `  echo "${PG_HBA_LAN}" >>"$PGDATA/pg_hba.conf"`,
      '  echo "PostgreSQL init process complete; ready for start up."',
      'fi',
      'exec postgres -D "$PGDATA" -c listen_addresses="*" -c unix_socket_directories=/var/run/postgresql',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  writeFileSync(join(dir, 'etc/nsswitch.conf'), 'passwd: files\ngroup: files\nhosts: files dns\n');
  // Xvnc prints its banner on stderr (vncPrintBanner); `docker exec <session> Xvnc -version` is how support asks.
  writeFileSync(join(dir, 'opt/kasmvnc/bin/Xvnc'), `#!/bin/sh\nprintf '\\n${XVNC_BANNER}\\nCopyright (C) 1999-2018 KasmVNC Team and many others (see README.me)\\nSee http://kasmweb.com for information on KasmVNC.\\nUnderlying X server release 12014000, The X.Org Foundation\\n\\n' >&2\n`, { mode: 0o755 });
  // The session's user writes ~/.vnc there, as in Kasm's images.
  chownSync(join(dir, 'home/kasm-user'), 1000, 1000);
}

/**
 * kasm_db's cluster, made once per lab start on this machine while the hosts start (initdb takes about a second, so
 * the database answers at Docker's first health probe), as an installed Kasm's database volume holds it: initdb as the
 * machine's `postgres` user, then owned by the image's (uid 70). False when the machine has no such user: kasm_db's
 * entrypoint makes the cluster at its first start then.
 */
export async function makeDatabaseCluster(dir: string): Promise<boolean> {
  const bin = postgresBin();
  const owner = bin ? await run('/usr/bin/id', ['-u', 'postgres'], { okCodes: [1] }) : undefined;
  if (!bin || !owner || owner.code !== 0) return false;
  // The lab's folder is root's alone (0700), so initdb works beside it and the cluster moves in when made.
  const work = clusterWorkDir(dir);
  mkdirSync(work, { mode: 0o711 });
  chmodSync(work, 0o711);
  const data = join(work, 'data');
  mkdirSync(data, { mode: 0o700 });
  chownSync(data, Number(owner.stdout.trim()), 0);
  try {
    await run('/usr/bin/setpriv', ['--reuid=postgres', '--regid=postgres', '--clear-groups', '--', join(bin, 'initdb'), ...INITDB_ARGS, '-D', data], { timeoutMs: 60_000 });
    await run('/bin/sh', ['-c', `echo "${PG_HBA_LAN}" >>"$1/pg_hba.conf" && chown -R 70:70 "$1"`, 'sh', data]);
    renameSync(data, dir);
    return true;
  } catch {
    return false;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Where makeDatabaseCluster works for a cluster at dir: next to the lab's folder, so a reaper finds it by the name. */
export const clusterWorkDir = (dir: string) => `${dirname(dir)}.db`;

export async function importImages(host: RealHost, rootfs: string, images: readonly ImageSpec[]): Promise<void> {
  for (const image of images) {
    await run('/bin/sh', ['-c', `tar --numeric-owner -C "$1" -c . | /usr/bin/docker -H "unix://$2" import ${image.changes.map((c) => `--change '${c.replaceAll("'", "'\\''")}'`).join(' ')} - "$3" >/dev/null`, 'sh', rootfs, host.dockerSocket, image.tag], { timeoutMs: 60_000 });
  }
}
