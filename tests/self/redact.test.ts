import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redact, redactValue, registerBasicCredentials, registerSecret } from '../../helpers/redact.ts';

describe('redact', () => {
  it('scrubs registered secrets wherever they appear', () => {
    registerSecret('s3cr3t-value');
    assert.equal(redact('x s3cr3t-value y'), 'x [REDACTED] y');
  });

  it('scrubs Authorization headers, cookies and tokens by shape', () => {
    assert.equal(redact('Authorization: Basic a2FzbV91c2VyOnB3'), 'Authorization: Basic [REDACTED]');
    assert.equal(redact('Cookie: username=u@k; session_token=abc-123; kasm_client_key=zz'), 'Cookie: username=u@k; session_token=[REDACTED]; kasm_client_key=[REDACTED]');
    assert.equal(redact('{"api_key_secret": "abc", "api_key": "k"}'), '{"api_key_secret": "[REDACTED]", "api_key": "k"}');
    assert.equal(redact('/#/connect/kasm/id/user/6a7e5c72-cebb'), '/#/connect/kasm/id/user/[REDACTED]');
    // Assembled at run time so no key-shaped block sits in the repository for secret scanners to flag.
    const armor = (edge: string) => `-----${edge} OPENSSH ${'PRIVATE'} KEY-----`;
    assert.equal(redact(`${armor('BEGIN')}\nabc\n${armor('END')}`), '[REDACTED PRIVATE KEY]');
  });

  it("scrubs other applications' cookies in a Cookie header, a copied fetch's cookie header and credentials in a URL", () => {
    assert.equal(redact('Cookie: connect.sid=s%3Aabc.def; username=u@k'), 'Cookie: connect.sid=[REDACTED]; username=u@k');
    assert.equal(redact('    "cookie": "connect.sid=SECRET; _ga=GA1.2.3"'), '    "cookie": "connect.sid=[REDACTED]; _ga=[REDACTED]"');
    assert.equal(redact('Set-Cookie: session_token=abc; Path=/; Secure'), 'Set-Cookie: session_token=[REDACTED]; Path=[REDACTED]; Secure');
    assert.equal(redact("ArgumentError: 'postgresql://kasmapp:HUNTER2SECRET@kasm_db:5432/kasm'"), "ArgumentError: 'postgresql://kasmapp:[REDACTED]@kasm_db:5432/kasm'");
    assert.equal(redact('"cookieHeaderNames": ["username"] https://kasm.example.com:443/api/x'), '"cookieHeaderNames": ["username"] https://kasm.example.com:443/api/x');
    // A name that ends in the word is not a Cookie header (baseline.json's facts).
    assert.equal(redact('{"client.cookies › username cookie": "domain=kasm.localhost path=/"}'), '{"client.cookies › username cookie": "domain=kasm.localhost path=/"}');
    assert.equal(redact("curl -H 'Cookie: a=b' https://kasm.example.com/"), "curl -H 'Cookie: a=[REDACTED]' https://kasm.example.com/");
  });

  it('stays linear on a long cookie header with no pair in it', () => {
    const time = (n: number) => {
      const text = `cookie: ${'x'.repeat(n)}`;
      const started = performance.now();
      redact(text);
      return performance.now() - started;
    };
    time(1_000);
    assert.ok(time(200_000) < 1_000, 'a 200,000-character cookie header took a second or more');
  });

  it('scrubs a secret in every form it takes: escaped in JSON, URL- and form-encoded, base64, and as Basic credentials', () => {
    const secret = 'pa"ss\\w/rd +&=?é-canary';
    registerSecret(secret);
    registerBasicCredentials('apikey-canary', secret);
    const json = JSON.stringify({ secret });
    const forms = {
      json,
      'json in json': JSON.stringify({ text: json }),
      url: `https://kasm.example/?p=${encodeURIComponent(secret)}`,
      form: `a=1&p=${encodeURIComponent(secret).replace(/%20/g, '+')}`,
      base64: `data ${Buffer.from(secret).toString('base64')} end`,
      base64url: `x.${Buffer.from(secret).toString('base64url')}.y`,
      basic: `Basic ${Buffer.from(`apikey-canary:${secret}`).toString('base64')}`,
    };
    for (const [name, text] of Object.entries(forms)) {
      const out = redact(text);
      assert.ok(out.includes('[REDACTED]'), `${name}: ${out}`);
      for (const leak of [secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret), Buffer.from(secret).toString('base64').replace(/=+$/, '')]) assert.ok(!out.includes(leak), `${name} kept a form: ${out}`);
    }
    // Outside any header, a Basic pair is still known by its value.
    assert.equal(redact(`log: ${Buffer.from(`apikey-canary:${secret}`).toString('base64')}`), 'log: [REDACTED]');
    assert.deepEqual(redactValue({ secret }), { secret: '[REDACTED]' });
  });

  it('keeps JSON valid', () => {
    assert.deepEqual(redactValue({ headers: { cookie: 'session_token=abc' }, n: 1 }), { headers: { cookie: 'session_token=[REDACTED]' }, n: 1 });
  });
});

describe('redactHeaders', () => {
  it('scrubs the value of every cookie in a Set-Cookie header, however many DevTools joined into it', async () => {
    const { redactHeaders } = await import('../../helpers/probes/devtools.ts');
    // Chromium's DevTools joins repeated Set-Cookie headers with a newline.
    const out = redactHeaders({ 'Set-Cookie': 'username=synthetic%40kasm.local; Path=/; Secure\nsession_token=0f1e2d3c-canary; Path=/; Secure; HttpOnly\r\nkasm_client_key=k3y-canary; Path=/' });
    const text = out['Set-Cookie']!;
    for (const value of ['synthetic%40kasm.local', '0f1e2d3c-canary', 'k3y-canary']) assert.ok(!text.includes(value), `${value} survived: ${text}`);
    assert.equal(text, 'username=[REDACTED]; Path=/; Secure\nsession_token=[REDACTED]; Path=/; Secure; HttpOnly\nkasm_client_key=[REDACTED]; Path=/');
  });
});
