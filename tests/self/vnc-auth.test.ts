// VncAuth's response (RFB security type 2) twice over: helpers/probes/rfb.ts (des.js, for the suite's own viewer and
// the lab's KasmVNC) and the DES written out in lab/www/vnc.html (the lab's web client, where no npm module reaches).
// Both against vectors from public sources, and against each other on random input.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import vm from 'node:vm';
import fc from 'fast-check';
import { KASM_VNC_AUTH_PASSWORD, vncAuthResponse } from '../../helpers/probes/rfb.ts';

type Response = (challenge: Uint8Array, password: string | Uint8Array) => Uint8Array;

/** The page's `<script id="vnc-auth">`, run on its own as the browser runs it before the viewer's script. */
function pageVncAuth(): Response {
  const html = readFileSync(new URL('../../lab/www/vnc.html', import.meta.url), 'utf8');
  const script = /<script id="vnc-auth">([\s\S]*?)<\/script>/.exec(html)?.[1];
  assert.ok(script, 'vnc.html has a <script id="vnc-auth">');
  const api = vm.runInNewContext(`${script}\nVncAuth`, { TextEncoder }) as { response: Response };
  return api.response;
}

/** d3des's fixed key that VNC's password files are obfuscated with (vncAuth.c / d3des). */
const OBFUSCATION_KEY = Uint8Array.from([23, 82, 107, 6, 35, 78, 88, 7]);
const twice = (block: string) => Buffer.from(block + block, 'hex');
const reverseBits = (byte: number) => parseInt(byte.toString(2).padStart(8, '0').split('').reverse().join(''), 2);

const VECTORS: Array<{ name: string; challenge: Buffer; password: string | Uint8Array; response: string }> = [
  {
    // KasmVNC's vncserver (DisableLegacyVncAuth) writes this as ~/.vnc/passwd: the empty password, obfuscated.
    name: "KasmVNC vncserver's ~/.vnc/passwd: the empty password under the obfuscation key",
    challenge: Buffer.alloc(16),
    password: OBFUSCATION_KEY,
    response: twice(Buffer.from('WrLNwLrcrxM=', 'base64').toString('hex')).toString('hex'),
  },
  {
    // A public image's passwd for "changeme" (`echo "MPTcXfgXGiY=" | base64 -d > ~/.vnc/passwd`).
    name: '"changeme" under the obfuscation key',
    challenge: Buffer.from('changemechangeme'),
    password: OBFUSCATION_KEY,
    response: twice(Buffer.from('MPTcXfgXGiY=', 'base64').toString('hex')).toString('hex'),
  },
  {
    // The textbook DES example (key 133457799BBCDFF1): VNC reverses each key byte's bits before DES sees it.
    name: 'the textbook DES vector, through the bit-reversed key',
    challenge: twice('0123456789abcdef'),
    password: Uint8Array.from(Buffer.from('133457799bbcdff1', 'hex'), reverseBits),
    response: twice('85e813540f0ab405').toString('hex'),
  },
  {
    // What Kasm's web client answers: the empty password is the all-zero key (DES(0, 0) = 8CA64DE9C1B123A7).
    name: "Kasm's answer: the empty password",
    challenge: Buffer.alloc(16),
    password: KASM_VNC_AUTH_PASSWORD,
    response: twice('8ca64de9c1b123a7').toString('hex'),
  },
];

describe('VncAuth response', () => {
  const implementations: Array<[string, Response]> = [
    ['helpers/probes/rfb.ts (des.js)', vncAuthResponse],
    ['lab/www/vnc.html', pageVncAuth()],
  ];

  for (const [where, response] of implementations) {
    for (const vector of VECTORS) {
      it(`${where}: ${vector.name}`, () => {
        assert.equal(Buffer.from(response(vector.challenge, vector.password)).toString('hex'), vector.response);
      });
    }

    it(`${where}: uses only the password's first 8 bytes`, () => {
      const challenge = Buffer.from('0123456789abcdef');
      assert.deepEqual(Buffer.from(response(challenge, 'password-and-more')), Buffer.from(response(challenge, 'password')));
    });

    it(`${where}: refuses a challenge that is not 16 bytes`, () => {
      assert.throws(() => response(new Uint8Array(15), ''), /a VncAuth challenge has 16 bytes, got 15/);
    });
  }

  it('the page and des.js agree on any challenge and password', () => {
    const page = pageVncAuth();
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.string({ maxLength: 12 }), (challenge, password) => {
        assert.deepEqual(Buffer.from(page(challenge, password)), vncAuthResponse(challenge, password));
      }),
      { numRuns: 200 },
    );
  });
});
