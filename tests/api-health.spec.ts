import { check, test } from '../helpers/fixtures/index.ts';
import { applyVerdict } from '../helpers/fixtures/check.ts';
import { orFailCheck } from '../helpers/diagnosis/explain.ts';
import { judgeApiHealth } from '../helpers/judge/api-health.ts';

test('kasm_api answers its health check with {"ok": true}', check('api.health', ['@smoke']), async ({ check, kasmApi, config }) => {
  const health = await test.step('api: GET /api/__healthcheck through the client-facing URL', () => orFailCheck(check, config.url, () => kasmApi.health()));
  await check.evidence('healthcheck', { url: kasmApi.url('/api/__healthcheck').href, status: health.status, server: health.server, body: health.text.slice(0, 300), ms: Math.round(health.ms) });
  applyVerdict(check, judgeApiHealth(health));
});
