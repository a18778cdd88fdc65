import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RfbServerStream, RfbViewer, vncAuthResponse } from '../../helpers/probes/rfb.ts';

function serverInit(width: number, height: number, name: string): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt16BE(width, 0);
  head.writeUInt16BE(height, 2);
  head.writeUInt32BE(Buffer.byteLength(name), 20);
  return Buffer.concat([head, Buffer.from(name)]);
}

const u32 = (value: number) => Buffer.from([value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255]);
const rfbString = (text: string) => Buffer.concat([u32(Buffer.byteLength(text)), Buffer.from(text)]);
const CHALLENGE = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
const REFUSED =
  'KasmVNC in the session container refused the VncAuth response (security type 2): SecurityResult 1, reason "Authentication failure"; Kasm\'s web client answers with the empty VNC password, so users\' sessions are refused too: the session image gives Xvnc a VNC password (-rfbauth, -PasswordFile) other than the empty one vncserver writes to ~/.vnc/passwd';

describe('RFB server stream', () => {
  it('follows a 3.8 handshake with security None to the first framebuffer update, split anywhere', () => {
    const whole = Buffer.concat([Buffer.from('RFB 003.008\n'), Buffer.from([1, 1]), Buffer.alloc(4), serverInit(1024, 640, 'desk'), Buffer.from([0, 0, 0, 1])]);
    let clock = 0;
    const stream = new RfbServerStream(() => ++clock);
    for (const byte of whole) stream.server(Buffer.from([byte]));
    assert.equal(stream.progress.banner, 'RFB 003.008');
    assert.deepEqual(stream.progress.securityTypes, [1]);
    assert.equal(stream.progress.securityType, 1);
    assert.equal(stream.progress.securityResult, 0);
    assert.deepEqual(stream.progress.serverInit, { width: 1024, height: 640, name: 'desk' });
    assert.ok(stream.progress.firstUpdateAt! > stream.progress.bannerAt!);
  });

  it('follows VncAuth as KasmVNC offers it: [2], the challenge, SecurityResult 0, ServerInit, split anywhere', () => {
    const whole = Buffer.concat([Buffer.from('RFB 003.008\n'), Buffer.from([1, 2]), CHALLENGE, u32(0), serverInit(800, 600, 'kasm'), Buffer.from([0])]);
    const stream = new RfbServerStream();
    for (const byte of whole) stream.server(Buffer.from([byte]));
    assert.equal(stream.progress.phase, 'messages');
    assert.deepEqual(stream.progress.securityTypes, [2]);
    assert.equal(stream.progress.securityType, 2);
    assert.deepEqual(stream.vncChallenge, CHALLENGE);
    assert.equal(stream.progress.securityResult, 0);
    assert.notEqual(stream.progress.firstUpdateAt, undefined);
  });

  it("waits for the viewer's VncAuth response where the viewer's bytes can be seen", () => {
    const stream = new RfbServerStream();
    stream.server(Buffer.from('RFB 003.008\n'));
    stream.client(Buffer.from('RFB 003.008\n'));
    stream.server(Buffer.from([1, 2]));
    stream.client(Buffer.from([2]));
    stream.server(CHALLENGE);
    assert.equal(stream.progress.phase, 'vnc-response', 'the challenge came and the viewer has not answered');
    stream.client(vncAuthResponse(CHALLENGE));
    assert.equal(stream.progress.phase, 'security-result');
    stream.server(Buffer.concat([u32(0), serverInit(800, 600, '')]));
    assert.equal(stream.progress.phase, 'messages');
  });

  it('takes the viewer\'s choice over the guess: None chosen from [1, 2] means no challenge', () => {
    const stream = new RfbServerStream();
    stream.server(Buffer.concat([Buffer.from('RFB 003.008\n'), Buffer.from([2, 1, 2])]));
    stream.client(Buffer.from([1]));
    stream.server(Buffer.concat([u32(0), serverInit(640, 480, 'x')]));
    assert.equal(stream.progress.securityType, 1);
    assert.equal(stream.progress.phase, 'messages');
    assert.equal(stream.vncChallenge, undefined);
  });

  it('reports a refused VncAuth response with its SecurityResult and reason, naming the session container', () => {
    const whole = Buffer.concat([Buffer.from('RFB 003.008\n'), Buffer.from([1, 2]), CHALLENGE, u32(1), rfbString('Authentication failure')]);
    const stream = new RfbServerStream();
    for (const byte of whole) stream.server(Buffer.from([byte]));
    assert.equal(stream.progress.phase, 'failed');
    assert.equal(stream.progress.securityResult, 1);
    assert.equal(stream.progress.securityReason, 'Authentication failure');
    assert.equal(stream.progress.failure, REFUSED);
  });

  it("takes the viewer's 16-byte VncAuth answer in pieces", () => {
    const stream = new RfbServerStream();
    stream.server(Buffer.concat([Buffer.from('RFB 003.008\n'), Buffer.from([1, 2])]));
    stream.client(Buffer.from([2]));
    stream.server(CHALLENGE);
    assert.equal(stream.progress.phase, 'vnc-response');
    const answer = vncAuthResponse(CHALLENGE);
    stream.client(answer.subarray(0, 8));
    assert.equal(stream.progress.phase, 'vnc-response');
    stream.client(answer.subarray(8));
    assert.equal(stream.progress.phase, 'security-result');
  });

  it('waits for the reason of a failed 3.8 SecurityResult before it reports it', () => {
    const stream = new RfbServerStream();
    stream.server(Buffer.concat([Buffer.from('RFB 003.008\n'), Buffer.from([1, 1]), u32(1)]));
    assert.equal(stream.progress.phase, 'security-result');
    assert.equal(stream.progress.securityResult, 1);
    stream.server(rfbString('no entry'));
    assert.equal(stream.progress.phase, 'failed');
    assert.equal(stream.progress.failure, 'KasmVNC in the session container refused security type None(1): SecurityResult 1, reason "no entry"');
  });

  it('reports a 3.3 refusal, which has no reason string', () => {
    const stream = new RfbServerStream();
    stream.server(Buffer.concat([Buffer.from('RFB 003.003\n'), u32(2), CHALLENGE, u32(1)]));
    assert.equal(stream.progress.phase, 'failed');
    assert.match(stream.progress.failure!, /^KasmVNC in the session container refused the VncAuth response \(security type 2\): SecurityResult 1 \(no reason string before RFB 3\.8\);/);
  });

  it('reports an empty security type list with its reason', () => {
    const stream = new RfbServerStream();
    stream.server(Buffer.concat([Buffer.from('RFB 003.008\n'), Buffer.from([0]), rfbString('No supported security types')]));
    assert.equal(stream.progress.phase, 'failed');
    assert.deepEqual(stream.progress.securityTypes, []);
    assert.equal(stream.progress.failure, 'KasmVNC in the session container offered no security type: "No supported security types"');
  });

  it('fails on something that is not RFB', () => {
    const stream = new RfbServerStream();
    stream.server(Buffer.from('HTTP/1.1 404'));
    assert.equal(stream.progress.phase, 'failed');
    assert.match(stream.progress.failure!, /expected an RFB banner/);
  });
});

describe('RFB viewer', () => {
  it('answers KasmVNC as Kasm\'s noVNC does: 3.8, VncAuth with the empty password, a shared ClientInit', () => {
    const viewer = new RfbViewer();
    assert.deepEqual(viewer.server(Buffer.from('RFB 003.008\n')), [Buffer.from('RFB 003.008\n')]);
    assert.deepEqual(viewer.server(Buffer.from([1, 2])), [Buffer.from([2])]);
    assert.deepEqual(viewer.server(CHALLENGE), [vncAuthResponse(CHALLENGE, '')]);
    assert.deepEqual(viewer.server(u32(0)), [Buffer.from([1])]);
    assert.deepEqual(viewer.server(serverInit(1024, 640, 'kasm')), []);
    assert.equal(viewer.progress.phase, 'messages');
  });

  it('answers the challenge with the password it was given', () => {
    const viewer = new RfbViewer({ password: 'secret' });
    viewer.server(Buffer.from('RFB 003.008\n'));
    viewer.server(Buffer.from([1, 2]));
    assert.deepEqual(viewer.server(CHALLENGE), [vncAuthResponse(CHALLENGE, 'secret')]);
  });

  it('prefers None when it is offered, and sends ClientInit at once where 3.7 has no SecurityResult', () => {
    const viewer = new RfbViewer();
    assert.deepEqual(viewer.server(Buffer.from('RFB 003.007\n')), [Buffer.from('RFB 003.007\n')]);
    assert.deepEqual(viewer.server(Buffer.from([2, 2, 1])), [Buffer.from([1]), Buffer.from([1])]);
    assert.deepEqual(viewer.server(serverInit(640, 480, '')), []);
    assert.equal(viewer.progress.phase, 'messages');
  });

  it('speaks 3.3 to a 3.3 server and answers the challenge the server chose', () => {
    const viewer = new RfbViewer();
    assert.deepEqual(viewer.server(Buffer.from('RFB 003.003\n')), [Buffer.from('RFB 003.003\n')]);
    assert.deepEqual(viewer.server(Buffer.concat([u32(2), CHALLENGE])), [vncAuthResponse(CHALLENGE, '')]);
    assert.deepEqual(viewer.server(u32(0)), [Buffer.from([1])]);
  });

  it('owes nothing more once the server refused it', () => {
    const viewer = new RfbViewer();
    viewer.server(Buffer.from('RFB 003.008\n'));
    viewer.server(Buffer.from([1, 2]));
    viewer.server(CHALLENGE);
    assert.deepEqual(viewer.server(Buffer.concat([u32(1), rfbString('Authentication failure')])), []);
    assert.equal(viewer.progress.failure, REFUSED);
  });
});
