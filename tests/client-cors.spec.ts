import { check, test } from '../helpers/fixtures/index.ts';
import { explainApiError } from '../helpers/diagnosis/explain.ts';
import { KasmApiError } from '../helpers/kasm-api.ts';
import { plural } from '../helpers/report/text.ts';

const PLACEHOLDER = /^\$\w+\$$/;
const isWithin = (host: string, primary: string) => host === primary || host.endsWith(`.${primary}`);

test('zone domains are sub-domains of the primary Kasm domain and the session raises no CORS error', check('client.cors'), async ({ check, desktop, kasmApi, config }) => {
  const primary = config.url.hostname.toLowerCase();

  const zoneHosts = await test.step('api: zone host names from the environment and get_zones', async () => {
    const hosts = new Map<string, string>(config.zoneHosts.map((h) => [h, 'KASM_ZONE_HOSTS']));
    try {
      const { zones = [] } = (await kasmApi.call<{ zones?: Array<{ zone_name?: string; proxy_hostname?: string }> }>('get_zones')).body;
      for (const zone of zones) {
        const host = (zone.proxy_hostname ?? '').trim().toLowerCase();
        if (host && !PLACEHOLDER.test(host)) hosts.set(host, `zone "${zone.zone_name}" Proxy Hostname`);
      }
    } catch (error) {
      if (!(error instanceof KasmApiError)) throw error;
      // A refusal or an error_message leaves KASM_ZONE_HOSTS to check; anything else (a 502, a timeout) is the api's.
      if (!['KASM_API_AUTH', 'KASM_API_ERROR'].includes(error.code)) check.fail(explainApiError(error, config.url));
      await check.evidence('get_zones', `not readable (${error.code === 'KASM_API_AUTH' ? 'not allowed with this API key' : `${error.code}: ${error.message}`}); only KASM_ZONE_HOSTS was checked`);
    }
    return hosts;
  });

  const opened = await desktop.open();
  const sessionHost = opened.vncHtml() ? new URL(opened.vncHtml()!.url).hostname : undefined;
  if (sessionHost && !zoneHosts.has(sessionHost)) zoneHosts.set(sessionHost, 'the session iframe');

  await check.evidence('domains', { primary, zoneHosts: Object.fromEntries(zoneHosts) });
  await check.evidence('console', opened.recorder.console.slice(0, 200));

  const outside = [...zoneHosts].filter(([host]) => !isWithin(host, primary));
  const cors = opened.recorder.corsErrors();
  if (outside.length || cors.length) {
    const parts = [
      ...outside.map(([host, from]) => `${host} (${from}) is not a sub-domain of ${primary}`),
      ...(cors.length ? [`${plural(cors.length, 'CORS error')} from ${[...new Set(cors.map((c) => c.origin ?? 'unknown origin'))].join(', ')}: ${cors[0]!.text.slice(0, 200)}`] : []),
    ];
    check.fail({
      summary: parts.join('; '),
      remediation: outside.length
        ? `Make every zone's Proxy Hostname a sub-domain of ${primary} (e.g. eu.${primary}), so the session iframe stays within the site the cookies and CORS rules allow; then destroy existing sessions.`
        : undefined,
    });
  }
  check.pass(`${zoneHosts.size ? [...zoneHosts.keys()].join(', ') : 'no zone host name'} within ${primary}; no CORS error in ${plural(opened.recorder.console.length, 'console message')}`);
});
