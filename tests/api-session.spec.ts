import { check, expect, test } from '../helpers/fixtures/index.ts';
import { explainApiError } from '../helpers/diagnosis/explain.ts';

test('the Developer API creates a session that reaches running', check('api.session-create', ['@smoke']), async ({ check, sessions, kasmApi, config }) => {
  const session = await test.step('api: request_kasm, then get_kasm_status until running', async () => {
    try {
      return await sessions.create();
    } catch (error) {
      const { summary, remediation, hop, evidence } = explainApiError(error, config.url);
      return check.fail({ summary, remediation, hop, evidence });
    }
  });
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
