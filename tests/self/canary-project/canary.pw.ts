// Fails on purpose: a token the worker learned and the API secret, in every form, in a failed expect, an attachment,
// a step and stdout. It uses the suite's own fixtures module, as the checks do.
import { registerSecret } from '../../../helpers/redact.ts';
import { expect, test } from '../../../helpers/fixtures/index.ts';

test('a failed expect prints a learned token', async ({ config }, testInfo) => {
  const token = process.env.KASM_CANARY_TOKEN!;
  const secret = config.api.secret;
  registerSecret(token);
  const forms = (value: string) => [value, JSON.stringify(value), JSON.stringify(JSON.stringify(value)), encodeURIComponent(value), Buffer.from(value).toString('base64'), Buffer.from(value).toString('base64url')];
  const everything = [...forms(token), ...forms(secret), Buffer.from(`canary-key:${secret}`).toString('base64')].join(' | ');
  console.log(`stdout: ${everything}`);
  await testInfo.attach('evidence', { body: everything, contentType: 'text/plain' });
  await test.step(`step ${encodeURIComponent(token)}`, async () => {
    expect(`https://kasm.example/#/connect/kasm/k/u/${token} ${everything}`).toMatch(/never matches/);
  });
});
