import { applyVerdict } from '../helpers/fixtures/check.ts';
import { check, test } from '../helpers/fixtures/index.ts';
import { explainApiError } from '../helpers/diagnosis/explain.ts';
import { judgeClientCors, zoneHostsOf, type ZoneRecord } from '../helpers/judge/client-cors.ts';
import { KasmApiError } from '../helpers/kasm-api.ts';

test('zone domains are sub-domains of the primary Kasm domain and the session raises no CORS error', check('client.cors'), async ({ check, desktop, kasmApi, config }) => {
  const primary = config.url.hostname.toLowerCase();

  const zones = await test.step('api: zone host names from the environment and get_zones', async () => {
    try {
      return (await kasmApi.call<{ zones?: ZoneRecord[] }>('get_zones')).body.zones ?? [];
    } catch (error) {
      if (!(error instanceof KasmApiError)) throw error;
      // A refusal or an error_message leaves KASM_ZONE_HOSTS to check; anything else (a 502, a timeout) is the api's.
      if (!['KASM_API_AUTH', 'KASM_API_ERROR'].includes(error.code)) check.fail(explainApiError(error, config.url));
      await check.evidence('get_zones', `not readable (${error.code === 'KASM_API_AUTH' ? 'not allowed with this API key' : `${error.code}: ${error.message}`}); only KASM_ZONE_HOSTS was checked`);
      return undefined;
    }
  });

  const opened = await desktop.open();
  const page = opened.vncHtml();
  const zoneHosts = zoneHostsOf({ configured: config.zoneHosts, zones, sessionHost: page ? new URL(page.url).hostname : undefined });
  const corsErrors = opened.recorder.corsErrors();

  await check.evidence('domains', { primary, zoneHosts });
  await check.evidence('console', opened.recorder.console.slice(0, 200));
  if (corsErrors.length) await check.evidence('cors-errors', corsErrors);

  applyVerdict(check, judgeClientCors({ primary, zoneHosts, corsErrors, consoleMessages: opened.recorder.console.length }));
});
