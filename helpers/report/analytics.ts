// Allure's awesome plugin hard-codes `analyticsEnable: true` in its page template
// (@allurereport/plugin-awesome/dist/generators.js): a Google Tag Manager loader and an inline gtag() call. An
// incident report goes to people outside the team and is opened on machines that must not call out, so both go.
import { ReportError } from './errors.ts';

// The two elements exactly as the template renders them. Handlebars HTML-escapes the interpolated values
// (version, report uuid, single-file flag), so the inline script's config cannot contain a '<'.
const GTAG_BLOCK =
  /[ \t]*<script async src="https:\/\/www\.googletagmanager\.com\/gtag\/js\?id=[\w-]+"><\/script>\s*<script>\s*window\.dataLayer = window\.dataLayer \|\| \[\];\s*function gtag\(\)\{dataLayer\.push\(arguments\);\}\s*gtag\('js', new Date\(\)\);\s*gtag\('config', '[\w-]+', \{[^<]*\}\);\s*<\/script>[ \t]*\n?/g;

const LEFTOVER = /googletagmanager|gtag\(|dataLayer/i;

export interface Stripped {
  html: string;
  /** How many analytics blocks were removed (0 when a future Allure no longer writes one). */
  removed: number;
}

export function stripAnalytics(html: string): Stripped {
  let removed = 0;
  const out = html.replace(GTAG_BLOCK, () => {
    removed += 1;
    return '';
  });
  const leftover = LEFTOVER.exec(out);
  if (leftover) {
    const at = leftover.index;
    throw new ReportError(
      'KASM_REPORT_ANALYTICS_UNRECOGNISED',
      `The Allure report still contains analytics ("${leftover[0]}" near "${out.slice(Math.max(0, at - 60), at + 60).replace(/\s+/g, ' ')}") in a form this suite does not recognise, so no report was written. ` +
        'Allure\'s page template changed (node_modules/@allurereport/plugin-awesome/dist/generators.js): update GTAG_BLOCK in helpers/report/analytics.ts to match it.',
    );
  }
  return { html: out, removed };
}
