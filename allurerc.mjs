// Allure 3 configuration for `npm run report` (helpers/cli/report.ts), which generates from a copy of the last
// run's results and removes the Google Tag Manager script Allure's awesome plugin writes into every page. Do not
// share what a bare `npx allure generate` writes: it still has that script.
import { readFileSync } from 'node:fs';

const HOPS = ['client', 'path', 'webapp', 'api', 'agent', 'session'];

// The report CLI writes rules from the check catalog (one per hop, grouped by guide section) and names the file in
// KASM_ALLURE_CATEGORIES; without it, one rule per hop from the `[<hop>] <check-id>:` check failures start with
// (after `Error: `, also inside a retry's message).
function categories() {
  const file = process.env.KASM_ALLURE_CATEGORIES;
  if (file) return JSON.parse(readFileSync(file, 'utf8'));
  return HOPS.map((hop) => ({ id: `kasm-hop-${hop}`, name: `Hop: ${hop}`, matchers: { statuses: ['failed', 'broken'], message: `(?:^|Error: )\\[${hop}\\] [a-z]+\\.[a-z0-9-]+[ :]` }, expand: true }));
}

// A plain object, not defineConfig() from 'allure': importing that package runs Allure's CLI on the importer's
// arguments.
/** @type {import('allure').AllureConfig} */
export default {
  name: 'Kasm synthetics',
  resultsDir: './reports/allure-results',
  output: './reports/allure-unshared',
  categories: categories(),
  plugins: {
    // The tree by hop, then the guide's section, then the check (labels the check fixture sets on every result).
    awesome: { options: { singleFile: true, reportName: 'Kasm synthetics', reportLanguage: 'en', groupBy: ['epic', 'feature', 'story'] } },
  },
};
