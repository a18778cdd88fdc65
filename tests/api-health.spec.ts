import { check, expect, test } from '../helpers/fixtures/index.ts';
import { orFailCheck } from '../helpers/diagnosis/explain.ts';
import { describeAnswer } from '../helpers/http-answer.ts';

test('kasm_api answers its health check with {"ok": true}', check('api.health', ['@smoke']), async ({ check, kasmApi, config }) => {
  const health = await test.step('api: GET /api/__healthcheck through the client-facing URL', () => orFailCheck(check, config.url, () => kasmApi.health()));
  await check.evidence('healthcheck', { url: kasmApi.url('/api/__healthcheck').href, status: health.status, server: health.server, body: health.text.slice(0, 300), ms: Math.round(health.ms) });
  if (health.status >= 502 && health.status <= 504) {
    check.fail({ summary: `/api/__healthcheck answered ${describeAnswer(health.status, health.text, health.server)}: kasm_api is down or kasm_proxy cannot reach it` });
  }
  if (health.status !== 200 || health.body?.ok !== true) {
    check.fail({ summary: `/api/__healthcheck answered ${describeAnswer(health.status, health.text, health.server)}, expected HTTP 200 {"ok": true}` });
  }
  expect(health.body).toEqual({ ok: true });
  check.pass(`/api/__healthcheck answered {"ok": true} in ${Math.round(health.ms)} ms`);
});
