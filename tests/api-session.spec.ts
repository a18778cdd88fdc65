import { check, expect, test } from '../helpers/fixtures/index.ts';
import { orFailCheck } from '../helpers/diagnosis/explain.ts';

test('the Developer API creates a session that reaches running', check('api.session-create', ['@smoke']), async ({ check, sessions, kasmApi, config }) => {
  const session = await test.step('api: request_kasm, then get_kasm_status until running', () => orFailCheck(check, config.url, () => sessions.create()));
  await check.evidence('session', {
    kasm_id: session.kasmId,
    agent: session.agent,
    runningAfterMs: session.runningAfterMs,
    credentialStyle: kasmApi.credentialStyle,
    operational_status: session.status.operational_status,
  });
  expect(session.kasmUrl).toMatch(/^\/#\/connect\/kasm\//);
  check.pass(`session ${session.kasmId} running on ${session.agent.hostname} after ${session.runningAfterMs} ms (credentials: ${kasmApi.credentialStyle})`);
});
