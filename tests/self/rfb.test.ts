import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RfbServerStream } from '../../helpers/probes/rfb.ts';

function serverInit(width: number, height: number, name: string): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt16BE(width, 0);
  head.writeUInt16BE(height, 2);
  head.writeUInt32BE(Buffer.byteLength(name), 20);
  return Buffer.concat([head, Buffer.from(name)]);
}

describe('RFB server stream', () => {
  it('follows a 3.8 handshake with security None to the first framebuffer update, split anywhere', () => {
    const whole = Buffer.concat([Buffer.from('RFB 003.008\n'), Buffer.from([1, 1]), Buffer.alloc(4), serverInit(1024, 640, 'desk'), Buffer.from([0, 0, 0, 1])]);
    let clock = 0;
    const stream = new RfbServerStream(() => ++clock);
    for (const byte of whole) stream.server(Buffer.from([byte]));
    assert.equal(stream.progress.banner, 'RFB 003.008');
    assert.deepEqual(stream.progress.securityTypes, [1]);
    assert.deepEqual(stream.progress.serverInit, { width: 1024, height: 640, name: 'desk' });
    assert.ok(stream.progress.firstUpdateAt! > stream.progress.bannerAt!);
  });

  it('skips the VNC-auth challenge when the client chose type 2', () => {
    const stream = new RfbServerStream();
    stream.server(Buffer.concat([Buffer.from('RFB 003.008\n'), Buffer.from([1, 2])]));
    stream.client(Buffer.from([2]));
    stream.server(Buffer.concat([Buffer.alloc(16, 7), Buffer.alloc(4), serverInit(800, 600, ''), Buffer.from([0])]));
    assert.equal(stream.progress.phase, 'messages');
    assert.notEqual(stream.progress.firstUpdateAt, undefined);
  });

  it('fails on something that is not RFB', () => {
    const stream = new RfbServerStream();
    stream.server(Buffer.from('HTTP/1.1 404'));
    assert.equal(stream.progress.phase, 'failed');
    assert.match(stream.progress.failure!, /expected an RFB banner/);
  });

  it('reports a failed security result', () => {
    const stream = new RfbServerStream();
    stream.server(Buffer.concat([Buffer.from('RFB 003.008\n'), Buffer.from([1, 1, 0, 0, 0, 1])]));
    assert.equal(stream.progress.phase, 'failed');
  });
});
