// Publishes lab ports on this machine's loopback, as `docker run -p 127.0.0.1:...` would: a listener on 127.0.0.1
// here, and for each connection a Unix socket (which crosses network namespaces) to a relay in the lab's switch
// namespace, which opens the TCP connection on the lab's LAN. The machine's network gains nothing but loopback
// listeners. Run as a program, this file is that relay: `relay.ts <socket path> <subnet prefix>`.
import net from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { netnsPath } from './network.ts';
import { RealLabError } from './run.ts';

const HEADER_MAX = 64;

/** The relay inside the switch namespace: the first line names `address port`, which must be on the lab's LAN. */
function serveRelay(socketPath: string, subnet: string): void {
  rmSync(socketPath, { force: true });
  net
    .createServer((client) => {
      let head = Buffer.alloc(0);
      const onData = (chunk: Buffer) => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf(10);
        if (end < 0) {
          if (head.length > HEADER_MAX) client.destroy();
          return;
        }
        client.off('data', onData);
        const [address, port] = head.subarray(0, end).toString('latin1').split(' ');
        if (!address?.startsWith(`${subnet}.`) || !/^\d{1,5}$/.test(port ?? '')) return client.destroy();
        const upstream = net.connect({ host: address, port: Number(port) });
        const rest = head.subarray(end + 1);
        if (rest.length) upstream.write(rest);
        client.pipe(upstream).pipe(client);
        upstream.on('error', () => client.destroy());
        client.on('error', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
        client.on('close', () => upstream.destroy());
      };
      client.on('data', onData);
      client.on('error', () => undefined);
    })
    .listen(socketPath);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) serveRelay(process.argv[2]!, process.argv[3]!);

export interface Published {
  port: number;
  close(): Promise<void>;
}

export class Relay {
  #child: ChildProcess | undefined;
  readonly #servers = new Set<net.Server>();
  readonly #sockets = new Set<net.Socket>();

  constructor(
    readonly switchNs: string,
    readonly socketPath: string,
    readonly subnet: string,
  ) {}

  /** `cwd`: where `tsx` resolves; the relay runs in one Node process (no tsx wrapper) so its parent-death signal holds. */
  async start(cwd: string): Promise<void> {
    const child = spawn('/usr/bin/setpriv', ['--pdeathsig', 'KILL', '--', '/usr/bin/nsenter', `--net=${netnsPath(this.switchNs)}`, '--', process.execPath, '--import', 'tsx', fileURLToPath(import.meta.url), this.socketPath, this.subnet], { stdio: 'ignore', cwd });
    this.#child = child;
    const deadline = Date.now() + 15_000;
    while (!existsSync(this.socketPath)) {
      if (child.exitCode !== null) throw new RealLabError(`the lab's relay ended at start (exit ${child.exitCode})`);
      if (Date.now() > deadline) throw new RealLabError('the lab\'s relay did not listen within 15 s');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** A loopback port of this machine that reaches `address:port` on the lab's LAN. */
  publish(address: string, port: number, bind = '127.0.0.1', fixedPort = 0): Promise<Published> {
    const server = net.createServer((client) => {
      this.#sockets.add(client);
      client.once('close', () => this.#sockets.delete(client));
      const upstream = net.connect(this.socketPath);
      // Queued before anything the client sends, so the relay's first line is always the target.
      upstream.write(`${address} ${port}\n`);
      client.pipe(upstream).pipe(client);
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.on('close', () => upstream.destroy());
    });
    this.#servers.add(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(fixedPort, bind, () => {
        const { port: published } = server.address() as net.AddressInfo;
        resolve({
          port: published,
          close: () =>
            new Promise<void>((done) => {
              this.#servers.delete(server);
              server.close(() => done());
            }),
        });
      });
    });
  }

  async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await Promise.all([...this.#servers].map((s) => new Promise<void>((done) => s.close(() => done()))));
    this.#child?.kill('SIGKILL');
  }
}
