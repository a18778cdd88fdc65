// The verdicts of path.websocket-upgrade and path.websocket-hold that real nginx made necessary (helpers/judge/).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeCut } from '../../helpers/judge/websocket-hold.ts';
import { plainGetReachedKasmVnc } from '../../helpers/judge/websocket-upgrade.ts';

describe('plainGetReachedKasmVnc', () => {
  it('reads KasmVNC in the Server header when nothing in front rewrote it', () => {
    assert.equal(plainGetReachedKasmVnc({ code: 'NOT_UPGRADED', status: 404, headers: { server: 'KasmVNC/4.0' }, body: '404' }), 'answered 404 by KasmVNC/4.0');
  });

  it("reads KasmVNC's own 404 body through nginx, which replaced the Server header", () => {
    assert.equal(plainGetReachedKasmVnc({ code: 'NOT_UPGRADED', status: 404, headers: { server: 'nginx/1.22.1' }, body: '404' }), 'answered 404 with KasmVNC\'s own "404" body, through nginx/1.22.1');
  });

  it("does not take nginx's own 404 page, a 403 from a device, or a 101 for KasmVNC's answer", () => {
    const nginx404 = '<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n';
    assert.equal(plainGetReachedKasmVnc({ code: 'NOT_UPGRADED', status: 404, headers: { server: 'nginx/1.22.1' }, body: nginx404 }), undefined);
    assert.equal(plainGetReachedKasmVnc({ code: 'NOT_UPGRADED', status: 403, headers: { server: 'nginx/1.22.1' }, body: '404' }), undefined);
    assert.equal(plainGetReachedKasmVnc({ code: 'UPGRADED', status: 101, headers: { server: 'KasmVNC/4.0' } }), undefined);
  });
});

describe('describeCut', () => {
  it('calls a cut of a stream that had been quiet for most of its life an idle timeout, with its length', () => {
    const { summary, remediation } = describeCut({ cutAfterMs: 1946, quietBeforeCutMs: 1891, closeCode: 1006, bytes: 1094 }, 3000);
    assert.equal(summary, 'the stream was cut 1946 ms after it opened (of 3000 ms), close code 1006 (no close frame: the TCP connection was dropped by something in the path), after 1094 bytes; nothing had crossed it for 1891 ms: an idle timeout of about 1.9 s on a device in the path');
    assert.match(remediation, /proxy_read_timeout/);
  });

  it('calls a cut while data flowed a duration limit or a dropped connection, not an idle timeout', () => {
    const { summary, remediation } = describeCut({ cutAfterMs: 5000, quietBeforeCutMs: 120, closeCode: 1006, bytes: 90_000 }, 8000);
    assert.equal(summary, 'the stream was cut 5000 ms after it opened (of 8000 ms), close code 1006 (no close frame: the TCP connection was dropped by something in the path), after 90000 bytes, 120 ms after the last byte: data was still flowing, so a maximum connection duration or a dropped connection, not an idle timeout');
    assert.match(remediation, /maximum|limits how long/);
  });

  it('says nothing of quiet when the hold did not measure it', () => {
    assert.equal(describeCut({ cutAfterMs: 10, closeCode: 1006, bytes: 12 }, 1000).summary, 'the stream was cut 10 ms after it opened (of 1000 ms), close code 1006 (no close frame: the TCP connection was dropped by something in the path), after 12 bytes');
  });
});
