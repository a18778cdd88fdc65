// The Developer API client against hostile answers: a body far larger than any Kasm answer is cut off at the cap
// with a clear error, and reading it does not take the runner's memory.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../helpers/config.ts';
import { KasmApiClient, KasmApiError, MAX_ANSWER_BYTES } from '../../helpers/kasm-api.ts';
import { createDispatcher } from '../../helpers/net.ts';

describe('KasmApiClient against a hostile server', () => {
  let server: http.Server;
  let api: KasmApiClient;
  let sent = 0;
  const dispatcher = createDispatcher({ insecureTls: false, connectTimeoutMs: 5_000 });

  before(async () => {
    // 150 MB of JSON-looking text, written as fast as the client takes it.
    server = http.createServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const chunk = Buffer.alloc(1024 * 1024, 'a');
      let left = 150;
      const pump = () => {
        while (left > 0) {
          left--;
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', () => (left = 0));
      pump();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const config = parseConfig({ KASM_URL: `http://127.0.0.1:${port}`, KASM_API_KEY: 'k', KASM_API_SECRET: 's', KASM_USER: 'u@example.com', KASM_WORKSPACE: 'Ubuntu Jammy' });
    api = new KasmApiClient(config, dispatcher);
  });
  after(async () => {
    await dispatcher.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it(`refuses an answer past ${MAX_ANSWER_BYTES} bytes, naming the call, and stops reading it`, async () => {
    global.gc?.();
    const before = process.memoryUsage().rss;
    await assert.rejects(api.call('get_agents', {}, { admin: true }), (error: unknown) => {
      assert.ok(error instanceof KasmApiError);
      assert.equal(error.code, 'KASM_API_TOO_LARGE');
      assert.match(error.message, /\/api\/admin\/get_agents answered more than 33554432 bytes: not read/);
      return true;
    });
    const grew = process.memoryUsage().rss - before;
    // The cap plus the chunks in flight; reading all 150 MB as text would take well over 300 MB.
    assert.ok(grew < 2.5 * MAX_ANSWER_BYTES, `rss grew ${grew} bytes`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.ok(sent < 150 * 1024 * 1024, `the server wrote all ${sent} bytes: the client did not cut the answer off`);
  });
});
