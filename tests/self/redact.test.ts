import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redact, redactValue, registerSecret } from '../../helpers/redact.ts';

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

  it('keeps JSON valid', () => {
    assert.deepEqual(redactValue({ headers: { cookie: 'session_token=abc' }, n: 1 }), { headers: { cookie: 'session_token=[REDACTED]' }, n: 1 });
  });
});
