// `npm run report`: analytics removed, the diagnosis as Markdown and as the incident file's panel, attachments cut
// to a budget; end to end against a lab with kasm_api down, opened in Chromium with every request outside the file
// refused.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from '@playwright/test';
import { resolveBrowser } from '../../helpers/browser.ts';
import { projectRoot } from '../../helpers/config.ts';
import { GUIDE_URL, HOPS } from '../../helpers/diagnosis/catalog.ts';
import { counted } from '../../helpers/diagnosis/diagnose.ts';
import type { Diagnosis, Finding } from '../../helpers/diagnosis/finding.ts';
import { stripAnalytics } from '../../helpers/report/analytics.ts';
import { chooseTrims, DEFAULT_BUDGET_BYTES, parseBudget, trimMarker, trimText } from '../../helpers/report/budget.ts';
import { incidentStamp } from '../../helpers/report/build.ts';
import { allure2Categories, allureCategoryRules } from '../../helpers/report/categories.ts';
import { environmentProperties } from '../../helpers/report/environment.ts';
import { ReportError } from '../../helpers/report/errors.ts';
import { diagnosisPanel, injectPanel } from '../../helpers/report/incident.ts';
import { diagnosisMarkdown } from '../../helpers/report/markdown.ts';
import { selectLatestRun, trimResults } from '../../helpers/report/results.ts';
import { startLab, type Lab } from '../../lab/index.ts';
import { runCli, runSuite, type Cli, type Run } from './suite-run.ts';

const GENERATORS = join(projectRoot, 'node_modules/@allurereport/plugin-awesome/dist/generators.js');

/** The analytics block as the installed Allure's template renders it (Handlebars fills in three values). */
function renderedAnalyticsBlock(): string {
  const template = /\{\{#if analyticsEnable\}\}\n([\s\S]*?)\n\s*\{\{\/if\}\}/.exec(readFileSync(GENERATORS, 'utf8'))?.[1];
  assert.ok(template, `no {{#if analyticsEnable}} block in ${GENERATORS}: Allure's template changed`);
  return template.replace('{{ allureVersion }}', '3.18.0').replace('{{ reportUuid }}', '0f6c1f0e-58a4-4b2f-a2c1-6f0b5d7e9a11').replace('{{singleFile}}', 'true');
}

const PAGE_HEAD = '<!DOCTYPE html>\n<html dir="ltr" lang="en">\n<head>\n    <title> Kasm synthetics </title>\n</head>\n<body>\n    <div id="app"></div>\n    <script>\n      window.allure = window.allure || {};\n    </script>\n    \n';
const PAGE_TAIL = '    \n    <script async>\n        window.allureReportDataReady = true;\n    </script>\n</body>\n</html>\n';

const finding = (overrides: Partial<Finding> & Pick<Finding, 'check' | 'hop' | 'status' | 'summary'>): Finding => ({ remediation: '', guideSection: 'Confirm Local Connectivity', evidence: {}, ...overrides });

const FIXTURE: Diagnosis = counted({
  verdict: 'broken',
  faultyHop: 'api',
  generatedAt: '2026-11-24T19:02:11.000Z',
  kasmUrl: 'https://kasm.example.com',
  findings: [
    finding({
      check: 'api.health',
      hop: 'api',
      status: 'fail',
      summary: 'kasm_proxy answered 502 for /api/__healthcheck: kasm_api is down',
      remediation: 'Run `sudo docker ps -a` and confirm kasm_api is Up; then restart Kasm (`sudo /opt/kasm/bin/stop && sudo /opt/kasm/bin/start`).',
    }),
    finding({ check: 'agent.firewall', hop: 'agent', status: 'warn', target: '10.0.2.20', summary: 'ufw denies 443/tcp from *any* <in>', remediation: 'Allow the agent port (`sudo ufw allow <port>/tcp`).', guideSection: 'Host Based Firewalls' }),
    finding({ check: 'api.session-create', hop: 'api', status: 'skip', blockedBy: 'api.health', summary: 'blocked by api.health: kasm_api is down\nsecond line', guideSection: 'Session hangs at requesting Kasm' }),
    finding({ check: 'webapp.listening', hop: 'webapp', status: 'skip', summary: 'SSH not configured for webapp servers (KASM_SSH_WEBAPP)' }),
    finding({ check: 'client.session-port', hop: 'client', status: 'pass', summary: 'ports match', guideSection: 'Validate Session Port' }),
    finding({ check: 'client.cors', hop: 'client', status: 'pass', summary: 'no CORS error', guideSection: 'Browser Blocking Cookies' }),
  ],
  changes: [
    { setting: 'Docker Run Config Override', workspace: 'Ubuntu Jammy', change: 'environment.KASM_DEBUG: absent -> 1', state: 'applied', detail: 'saved with admin update_image (target_image)' },
    { setting: 'Docker Run Config Override', workspace: 'Ubuntu Jammy', change: 'environment.KASM_DEBUG: absent -> 1', state: 'restored', detail: 'get_images shows the original override (19 bytes), byte-for-byte' },
  ],
});

describe('report: analytics', () => {
  it('removes exactly the Google Tag Manager loader and the inline gtag() script of the installed template', () => {
    const block = renderedAnalyticsBlock();
    assert.match(block, /^ *<script async src="https:\/\/www\.googletagmanager\.com\/gtag\/js\?id=G-\w+"><\/script>\n *<script>\n/);
    const { html, removed } = stripAnalytics(`${PAGE_HEAD}${block}\n${PAGE_TAIL}`);
    assert.equal(removed, 1);
    assert.equal(html, `${PAGE_HEAD}${PAGE_TAIL}`);
  });

  it('leaves a page without analytics unchanged', () => {
    assert.deepEqual(stripAnalytics(`${PAGE_HEAD}${PAGE_TAIL}`), { html: `${PAGE_HEAD}${PAGE_TAIL}`, removed: 0 });
  });

  it('refuses a page whose analytics it does not recognise', () => {
    const changed = renderedAnalyticsBlock().replace('<script async src=', '<script defer src=');
    assert.throws(
      () => stripAnalytics(`${PAGE_HEAD}${changed}\n${PAGE_TAIL}`),
      (error: unknown) => error instanceof ReportError && error.code === 'KASM_REPORT_ANALYTICS_UNRECOGNISED' && error.exitCode === 1 && /in a form this suite does not recognise, so no report was written/.test(error.message),
    );
  });
});

describe('report: diagnosis.md', () => {
  it('writes the verdict, the failing checks with their fix and guide section, warnings, blocked, skipped and settings', () => {
    assert.deepEqual(diagnosisMarkdown(FIXTURE).split('\n'), [
      '# Kasm diagnosis: BROKEN, faulty hop `api`',
      '',
      '- Kasm URL: https://kasm.example.com',
      '- Generated: 2026-11-24T19:02:11.000Z',
      '- Tests: 1 failed, 1 warning, 1 blocked, 1 skipped, 2 passed (6 tests)',
      '',
      '## Failing checks',
      '',
      '- **`api.health`** (hop `api`): kasm_proxy answered 502 for /api/__healthcheck: kasm_api is down',
      '  - Fix: Run `sudo docker ps -a` and confirm kasm_api is Up; then restart Kasm (`sudo /opt/kasm/bin/stop && sudo /opt/kasm/bin/start`).',
      `  - Guide: [Confirm Local Connectivity](${GUIDE_URL}#confirm-local-connectivity)`,
      '',
      '## Warnings',
      '',
      '- **`agent.firewall`** (hop `agent`, host `10.0.2.20`): ufw denies 443/tcp from \\*any\\* \\<in\\>',
      '  - Fix: Allow the agent port (`sudo ufw allow <port>/tcp`).',
      `  - Guide: [Host Based Firewalls](${GUIDE_URL}#host-based-firewalls)`,
      '',
      '## Blocked (failed only because a check they depend on failed)',
      '',
      '- `api.session-create`: blocked by api.health: kasm_api is down',
      '',
      '## Skipped',
      '',
      '- `webapp.listening`: SSH not configured for webapp servers (KASM_SSH_WEBAPP)',
      '',
      '## Kasm settings changed and restored',
      '',
      '- Docker Run Config Override of "Ubuntu Jammy": environment.KASM_DEBUG: absent -\\> 1: applied. saved with admin update_image (target_image)',
      '- Docker Run Config Override of "Ubuntu Jammy": environment.KASM_DEBUG: absent -\\> 1: restored. get_images shows the original override (19 bytes), byte-for-byte',
      '',
    ]);
  });

  it('says healthy without empty sections', () => {
    const healthy = counted({ ...FIXTURE, tests: undefined, counts: undefined, coverage: undefined, verdict: 'healthy', faultyHop: null, findings: FIXTURE.findings.filter((f) => f.status === 'pass'), changes: [] });
    assert.deepEqual(diagnosisMarkdown(healthy).split('\n'), [
      '# Kasm diagnosis: HEALTHY (healthy for client; path, webapp, api, agent and session not checked: no check of this hop ran)',
      '',
      '- Kasm URL: https://kasm.example.com',
      '- Generated: 2026-11-24T19:02:11.000Z',
      '- Tests: 0 failed, 0 warnings, 0 blocked, 0 skipped, 2 passed (2 tests)',
      '',
    ]);
  });
});

describe('report: incident panel', () => {
  it('escapes every value: a finding carrying <script> stays text', () => {
    const hostile: Diagnosis = {
      ...FIXTURE,
      kasmUrl: 'https://kasm.example.com/"><script>alert(1)</script>',
      findings: [finding({ check: 'api.health', hop: 'api', status: 'fail', summary: '<script>alert("x")</script> & <img src=x onerror=alert(2)>', remediation: "it's <b>bold</b>", guideSection: 'Confirm <Local>' })],
      changes: [],
    };
    const panel = diagnosisPanel({ diagnosis: hostile, budgetBytes: DEFAULT_BUDGET_BYTES, trimmed: [{ test: '<i>t</i>', attachment: '"a"', bytes: 2_500_000, action: 'trimmed' }] });
    assert.ok(!/<script|<img|<b>bold|<i>t/i.test(panel), panel);
    assert.ok(panel.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(2)&gt;'));
    assert.ok(panel.includes('<b>Fix:</b> it&#39;s &lt;b&gt;bold&lt;/b&gt;'));
    const coded = diagnosisPanel({ diagnosis: { ...hostile, findings: [finding({ check: 'api.health', hop: 'api', status: 'fail', summary: 's', remediation: 'run `echo "<x>"` now' })] }, budgetBytes: 1, trimmed: [] });
    assert.ok(coded.includes('<b>Fix:</b> run <code>echo &quot;&lt;x&gt;&quot;</code> now'), 'commands show as code, still escaped');
    assert.ok(panel.includes(`<a href="${GUIDE_URL}#confirm-local" rel="noreferrer">Confirm &lt;Local&gt;</a>`));
    assert.ok(panel.includes('<h2>Trimmed to fit 10 MB</h2>'));
    assert.ok(panel.includes('<li>&lt;i&gt;t&lt;/i&gt;: "&quot;a&quot;" (2.5 MB) cut to its head and tail</li>'));
  });

  it('goes first in <body>', () => {
    const page = injectPanel('<html><head></head><body class="x">\n<div id="app"></div></body></html>', '<section id="kasm-diagnosis"></section>');
    assert.equal(page, '<html><head></head><body class="x">\n<section id="kasm-diagnosis"></section>\n\n<div id="app"></div></body></html>');
    assert.throws(() => injectPanel('<html></html>', ''), (error: unknown) => error instanceof ReportError && error.code === 'KASM_REPORT_BAD_HTML');
  });

  it('names the incident file after the run, valid on every file system', () => {
    assert.equal(incidentStamp('2026-11-24T22:15:03.120Z'), '2026-11-24T22-15-03Z');
    assert.equal(incidentStamp('not a date', new Date('2026-01-02T03:04:05Z')), '2026-01-02T03-04-05Z');
  });
});

describe('report: budget', () => {
  it('reads KASM_REPORT_MAX_BYTES as a whole number of bytes', () => {
    assert.equal(parseBudget(undefined), 10_000_000);
    assert.equal(parseBudget(' 3000000 '), 3_000_000);
    for (const bad of ['10MB', '0', '1.5', '-1', '1e6']) {
      assert.throws(() => parseBudget(bad), (error: unknown) => error instanceof ReportError && error.code === 'KASM_REPORT_BAD_BUDGET' && error.exitCode === 2 && error.message === `KASM_REPORT_MAX_BYTES: must be a whole number of bytes greater than 0, got "${bad}". Example: KASM_REPORT_MAX_BYTES=10000000`);
    }
  });

  it('keeps the head and the tail of a text and says how much went between them', () => {
    const text = Buffer.from(`${'h'.repeat(1000)}${'m'.repeat(8000)}${'t'.repeat(1000)}`);
    const cut = trimText(text, 2000).toString();
    assert.equal(cut, `${'h'.repeat(1000)}\n${trimMarker(8000)}\n${'t'.repeat(1000)}`);
    assert.equal(trimMarker(8000), '[… 8000 bytes trimmed from this attachment to fit the incident report budget …]');
    assert.equal(trimText(Buffer.from('short'), 2000).toString(), 'short');
    // A cut never splits a UTF-8 character.
    assert.ok(!trimText(Buffer.from('é'.repeat(5000)), 2001).toString().includes('\uFFFD'));
  });

  it('cuts text down to one cap before it touches a screenshot, and replaces screenshots only when text is not enough', () => {
    const candidates = [
      { id: 'log', bytes: 60_000, kind: 'text' as const },
      { id: 'har', bytes: 30_000, kind: 'text' as const },
      { id: 'small', bytes: 3_000, kind: 'text' as const },
      { id: 'png', bytes: 200_000, kind: 'binary' as const },
    ];
    const some = chooseTrims(candidates, 40_000);
    assert.equal(some.enough, true);
    assert.deepEqual(some.actions.map((a) => [a.id, a.action]), [['log', 'trim'], ['har', 'trim']]);
    const all = chooseTrims(candidates, 150_000);
    assert.deepEqual(all, { actions: [{ id: 'log', action: 'trim', keep: 4096 }, { id: 'har', action: 'trim', keep: 4096 }, { id: 'png', action: 'replace' }], enough: true });
    assert.equal(chooseTrims(candidates, 10_000_000).enough, false);
  });
});

/** A results folder as allure-playwright writes it: one result with a check step and three attachments. */
function resultsFixture(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kasm-report-unit-'));
  const log = `${'HEAD '.repeat(2000)}${'x'.repeat(40_000)}${' TAIL'.repeat(2000)}`;
  writeFileSync(join(dir, 'a1-attachment.txt'), log);
  writeFileSync(join(dir, 'a2-attachment.json'), JSON.stringify({ requests: 'r'.repeat(30_000) }));
  writeFileSync(join(dir, 'a3-attachment.png'), Buffer.alloc(50_000, 7));
  const result = {
    uuid: 'r1',
    name: 'kasm_api answers GET /api/__healthcheck',
    status: 'failed',
    statusDetails: { message: 'Error: [api] api.health: kasm_proxy answered 502\nFix: ...' },
    labels: [{ name: 'thread', value: 'pid-42-worker-0' }],
    start: 2_000,
    stop: 3_000,
    steps: [
      { name: 'check: api.health', steps: [], attachments: [] },
      { name: 'evidence', attachments: [{ name: 'kasm_api log', source: 'a1-attachment.txt', type: 'text/plain' }], steps: [{ name: 'inner', steps: [], attachments: [{ name: 'DevTools recording', source: 'a2-attachment.json', type: 'application/json' }] }] },
    ],
    attachments: [{ name: 'screenshot', source: 'a3-attachment.png', type: 'image/png' }],
  };
  writeFileSync(join(dir, 'r1-result.json'), JSON.stringify(result));
  return dir;
}

describe('report: results', () => {
  it('cuts the largest text attachments to head + tail and records each with its test and original size', () => {
    const dir = resultsFixture();
    try {
      const step = trimResults(dir, 40_000);
      assert.equal(step.enough, true);
      assert.deepEqual([...step.ledger.values()], [
        { test: 'kasm_api answers GET /api/__healthcheck', attachment: 'kasm_api log', bytes: 60_000, action: 'trimmed' },
        { test: 'kasm_api answers GET /api/__healthcheck', attachment: 'DevTools recording', bytes: 30_015, action: 'trimmed' },
      ]);
      const log = readFileSync(join(dir, 'a1-attachment.txt'), 'utf8');
      assert.ok(log.startsWith('HEAD HEAD '), 'the head stays');
      assert.ok(log.endsWith(' TAIL TAIL'), 'the tail stays');
      assert.match(log, /\n\[… \d+ bytes trimmed from this attachment to fit the incident report budget …\]\n/);
      assert.ok(log.length > 20_000 && log.length < 26_000, `both cut to one cap that saves 40 KB: ${log.length}`);
      const result = JSON.parse(readFileSync(join(dir, 'r1-result.json'), 'utf8')) as { steps: Array<{ steps: Array<{ attachments: Array<{ type: string }> }> }> };
      assert.equal(result.steps[1]!.steps[0]!.attachments[0]!.type, 'text/plain', 'a cut JSON is shown as text, not parsed');
      assert.equal(statSync(join(dir, 'a3-attachment.png')).size, 50_000, 'the screenshot stays while text was enough');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('replaces a screenshot with a note only when cutting text is not enough, and keeps its original size in the record', () => {
    const dir = resultsFixture();
    try {
      const ledger = trimResults(dir, 40_000).ledger;
      const step = trimResults(dir, 60_000, ledger);
      assert.deepEqual(step.ledger.get('a3-attachment.png'), { test: 'kasm_api answers GET /api/__healthcheck', attachment: 'screenshot', bytes: 50_000, action: 'replaced' });
      assert.equal(step.ledger.get('a1-attachment.txt')?.bytes, 60_000, 'a second cut keeps the first original size');
      assert.ok(!existsSync(join(dir, 'a3-attachment.png')));
      assert.match(readFileSync(join(dir, 'a3-attachment.txt'), 'utf8'), /^This attachment \("screenshot", image\/png, 50000 bytes\) was removed from the incident report to fit its size budget/);
      const result = JSON.parse(readFileSync(join(dir, 'r1-result.json'), 'utf8')) as { attachments: unknown[] };
      assert.deepEqual(result.attachments, [{ name: 'screenshot', source: 'a3-attachment.txt', type: 'text/plain' }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports only the latest run when earlier runs are still in allure-results', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kasm-report-runs-'));
    try {
      const write = (uuid: string, pid: number, start: number) => writeFileSync(join(dir, `${uuid}-result.json`), JSON.stringify({ uuid, name: uuid, labels: [{ name: 'host', value: 'ci' }, { name: 'thread', value: `pid-${pid}-worker-1` }], start, stop: start + 10 }));
      write('old-1', 100, 1_000);
      write('old-2', 100, 1_005);
      write('new-1', 200, 5_000);
      write('new-2', 200, 5_002);
      const selection = selectLatestRun(dir);
      assert.deepEqual(selection.results.sort(), ['new-1-result.json', 'new-2-result.json']);
      assert.deepEqual([selection.ignoredResults, selection.runs, selection.startedAt, selection.endedAt], [2, 2, 5_000, 5_012]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('report: shards of one run', () => {
  it('keeps the results of every shard of one CI run (one KASM_RUN_ID, several runners on several hosts)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kasm-report-shards-'));
    try {
      const write = (uuid: string, host: string, pid: number, run: string, start: number) =>
        writeFileSync(join(dir, `${uuid}-result.json`), JSON.stringify({ uuid, name: uuid, labels: [{ name: 'host', value: host }, { name: 'thread', value: `pid-${pid}-worker-0` }, { name: 'kasmRun', value: run }], start, stop: start + 10 }));
      write('old', 'runner-a', 10, '41-1', 1_000);
      write('shard-1', 'runner-b', 100, '42-1', 5_000);
      write('shard-2', 'runner-c', 200, '42-1', 5_003);
      const selection = selectLatestRun(dir);
      assert.deepEqual(selection.results.sort(), ['shard-1-result.json', 'shard-2-result.json']);
      assert.equal(selection.ignoredResults, 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('report: Allure environment and categories', () => {
  it('writes environment.properties escaped the way Allure reads it', () => {
    assert.equal(environmentProperties([['kasm.host', 'kasm.example.com:443'], ['zones', 'eu\nus'], ['odd key=x', ' café\\']]), 'kasm.host=kasm.example.com:443\nzones=eu\\nus\nodd\\ key\\=x=\\ caf\\u00e9\\\\\n');
  });

  it('files a check failure under its hop, whatever the check id says, and groups it by guide section', () => {
    const message = 'Error: [path] api.kasm-connect: "missing required username or token" while the browser sent both cookies\nFix: ...';
    const rules = allureCategoryRules();
    assert.deepEqual(rules.map((r) => r.name), HOPS.map((h) => `Hop: ${h}`));
    assert.deepEqual(rules.filter((r) => new RegExp(r.matchers.message).test(message)).map((r) => r.id), ['kasm-hop-path']);
    assert.deepEqual(rules[0]!.groupBy, [{ label: 'guide' }]);
    const allure2 = allure2Categories();
    const matching = allure2.filter((c) => new RegExp(`^(?:${c.messageRegex})$`).test(message)).map((c) => c.name);
    assert.deepEqual(matching, ['Hop: path', 'Guide: Validate Session Authorization']);
    assert.equal(allure2.length, HOPS.length + new Set(allure2.filter((c) => c.name.startsWith('Guide: ')).map((c) => c.name)).size);
    const retried = "Error: not retried: attempt 1 failed for a reason a retry does not change (configuration, credentials, or Kasm's state): Error: [api] api.session-create: get_user: kasm_proxy answered 502\nFix: ...";
    assert.deepEqual(rules.filter((r) => new RegExp(r.matchers.message).test(retried)).map((r) => r.id), ['kasm-hop-api'], 'found inside a retry');
    assert.deepEqual(allure2.filter((c) => new RegExp(`^(?:${c.messageRegex})$`).test(retried)).map((c) => c.name), ['Hop: api', 'Guide: Session hangs at requesting Kasm']);
    assert.deepEqual(rules.filter((r) => new RegExp(r.matchers.message).test('Error: Test timeout of 60000ms exceeded. See [api] docs')).map((r) => r.id), [], 'only the check prefix counts');
  });

  it('allurerc.mjs without the CLI still files failures by hop, the same way', async () => {
    const saved = process.env.KASM_ALLURE_CATEGORIES;
    delete process.env.KASM_ALLURE_CATEGORIES;
    try {
      const config = ((await import(`${pathToFileURL(join(projectRoot, 'allurerc.mjs')).href}?fallback`)) as { default: { name: string; categories: unknown; plugins: unknown } }).default;
      assert.equal(config.name, 'Kasm synthetics');
      assert.deepEqual(config.plugins, { awesome: { options: { singleFile: true, reportName: 'Kasm synthetics', reportLanguage: 'en', groupBy: ['epic', 'feature', 'story'] } } });
      assert.deepEqual(config.categories, allureCategoryRules().map(({ groupBy: _groupBy, ...rule }) => rule));
    } finally {
      if (saved !== undefined) process.env.KASM_ALLURE_CATEGORIES = saved;
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------

const runReport = (lab: Lab, dir: string, extraEnv: Record<string, string> = {}): Promise<Cli> => runCli(lab, dir, 'report', [], extraEnv);

const XML_NAMESPACES = ['http://www.w3.org/2000/svg', 'http://www.w3.org/1999/xlink', 'http://www.w3.org/1999/xhtml', 'http://www.w3.org/1998/Math/MathML', 'http://www.w3.org/XML/1998/namespace', 'http://www.w3.org/2000/xmlns/'];
// Constants in Allure's app bundle that are never requested on their own (the Chromium test below proves it): the
// base it resolves data keys against when <base> is missing, the "Powered by" link, and the Playwright trace
// viewer it offers for trace attachments, which the suite never records.
const ALLURE_APP_CONSTANTS = ['https://localhost', 'https://allurereport.org', 'https://trace.playwright.dev'];
// A host must follow: `https://${host}` in the app's code builds URLs at run time, which the Chromium test watches.
const URL_PATTERN = /https?:\/\/[A-Za-z0-9][^\s"'<>()\\`{}|^$]*/g;

interface Scanned {
  outer: string;
  app: string[];
  data: Map<string, string>;
}

/** The page without its base64 payloads, the decoded app scripts and styles, and the decoded report data by name. */
function scan(html: string): Scanned {
  const app: string[] = [];
  const data = new Map<string, string>();
  let outer = html.replace(/(src|href)="data:(text\/(?:javascript|css));base64,([A-Za-z0-9+/=]+)"/g, (_m, attr: string, type: string, b64: string) => {
    app.push(Buffer.from(b64, 'base64').toString('utf8'));
    return `${attr}="data:${type};base64,"`;
  });
  outer = outer.replace(/d\("([^"]+)","([A-Za-z0-9+/=]*)"\)/g, (_m, name: string, b64: string) => {
    data.set(name, Buffer.from(b64, 'base64').toString('utf8'));
    return `d("${name}","")`;
  });
  return { outer, app, data };
}

const urlsIn = (text: string) => [...new Set(text.match(URL_PATTERN) ?? [])];
const stripTrailing = (url: string) => url.replace(/[.,;:]+$/, '');

describe('npm run report end to end (lab with kasm_api down)', { concurrency: false }, () => {
  let lab: Lab;
  let run: Run;
  let browser: Browser;
  let first: Cli;
  let incident: string;
  const work = mkdtempSync(join(tmpdir(), 'kasm-report-e2e-'));
  const reports = join(work, 'reports');
  const firstIncident = join(work, 'first-incident.html');

  before(async () => {
    lab = await startLab({ faults: ['api-down'] });
    run = await runSuite(lab, work);
    assert.equal(run.diagnosis?.faultyHop, 'api', `the suite did not diagnose api-down\n${run.output.slice(-4000)}`);
    first = await runReport(lab, work);
    const found = existsSync(join(reports, 'incident')) ? readdirSync(join(reports, 'incident')) : [];
    assert.equal(found.length, 1, `one incident file, got ${found.join(', ')}\n${first.stdout}\n${first.stderr}`);
    incident = join(reports, 'incident', found[0]!);
    copyFileSync(incident, firstIncident);
    const choice = resolveBrowser();
    browser = await chromium.launch({ executablePath: choice.executablePath, args: choice.args });
  });
  after(async () => {
    await browser?.close();
    await lab?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('writes the report, the incident file under the default budget and diagnosis.md, and says where with sizes', () => {
    assert.equal(first.code, 0, `${first.stdout}\n${first.stderr}`);
    assert.match(first.stdout, /^Allure report: {3}\S*allure-report\/index\.html \(\d+(\.\d+)? MB, \d+ bytes\)$/m);
    assert.match(first.stdout, /^Incident file: {3}\S*incident\/\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ\.html \(\d+(\.\d+)? MB, \d+ bytes; budget 10 MB, 10000000 bytes\)$/m);
    assert.match(first.stdout, /^Diagnosis \(md\): {2}\S*diagnosis\.md \(\d+(\.\d+)? KB, \d+ bytes\)$/m);
    assert.match(first.stdout, /^Generated in \d+\.\d s from \d+ test results\.$/m);
    assert.equal(incident.endsWith(`${run.diagnosis!.generatedAt.replace(/\.\d+Z$/, 'Z').replace(/:/g, '-')}.html`), true);
    assert.ok(statSync(incident).size <= 10_000_000);
    const md = readFileSync(join(reports, 'diagnosis.md'), 'utf8').split('\n');
    assert.equal(md[0], '# Kasm diagnosis: BROKEN, faulty hop `api`');
    assert.ok(md.includes("## Failing checks"), md.join("\n"));
    // With SSH to the WebApp server, docker ps says why: kasm_api Exited, which explains api.health's failure.
    assert.ok(md.some((line) => /^- \*\*`webapp\.containers`\*\* \(hop `api`, host `[^`]+`\): kasm_api Exited/.test(line)), md.join('\n'));
    const page = readFileSync(join(reports, 'allure-report', 'index.html'), 'utf8');
    assert.ok(!page.includes('googletagmanager') && !page.includes('kasm-diagnosis'), 'the plain report has no analytics and no panel');
    const secrets = [lab.env.KASM_API_SECRET!, lab.env.KASM_USER_PASSWORD!, ...lab.api.issued];
    for (const file of [incident, join(reports, 'diagnosis.md'), join(reports, 'allure-report', 'index.html')]) {
      const { outer, app, data } = scan(readFileSync(file, 'utf8'));
      const all = [outer, ...app, ...data.values()].join('\n');
      for (const secret of secrets) assert.ok(!all.includes(secret), `a secret leaked into ${file}`);
    }
  });

  it('has nothing in the file that would call out: no analytics, no URL but XML namespaces, the guide and the Kasm under test (as text)', () => {
    const { outer, app, data } = scan(readFileSync(firstIncident, 'utf8'));
    assert.ok(app.length >= 1 && data.size > 10, 'the app and the report data were found and decoded');
    for (const text of [outer, ...app, ...data.values()]) assert.ok(!/googletagmanager|gtag\(/i.test(text), 'no analytics anywhere');
    // The lab's addresses are the Kasm under test: findings quote them as text.
    const isLab = (url: string) => {
      const host = new URL(url).hostname;
      return host === 'localhost' || host.endsWith('.localhost') || /^127\./.test(host);
    };
    assert.deepEqual(urlsIn(outer).map(stripTrailing).filter((u) => !XML_NAMESPACES.includes(u) && !u.startsWith(`${GUIDE_URL}#`) && !isLab(u)), [], 'page markup');
    assert.deepEqual(urlsIn(app.join('\n')).filter((u) => !XML_NAMESPACES.includes(u) && !ALLURE_APP_CONSTANTS.includes(u)), [], "Allure's app");
    for (const [name, text] of data) {
      assert.deepEqual(urlsIn(text).map(stripTrailing).filter((u) => !u.startsWith(GUIDE_URL) && !isLab(u)), [], `report data ${name}`);
    }
    assert.ok(!/<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)="https?:/i.test(outer), 'no element loads anything from the network');
  });

  it('carries the environment and the hop categories in the report data', () => {
    const { data } = scan(readFileSync(firstIncident, 'utf8'));
    const environment = JSON.parse(data.get('widgets/allure_environment.json') ?? '[]') as Array<{ name: string; values: string[] }>;
    const env = Object.fromEntries(environment.map((e) => [e.name, e.values[0]]));
    assert.equal(env['kasm.host'], new URL(run.diagnosis!.kasmUrl).host);
    assert.equal(env.verdict, 'broken');
    assert.equal(env['faulty.hop'], 'api');
    assert.equal(env['suite.version'], '0.1.0');
    assert.match(env['kasm.version'] ?? '', /^1\.16\.0 \(kasm_api image on 127\.0\.10\.1:\d+\)$/, 'from docker ps on the WebApp server');
    assert.equal(env.workspace, 'Ubuntu Jammy', 'from run-info.json (zones and agents too when kasm_api answers)');
    assert.equal(env['node.version'], process.version);
    assert.ok(env['git.commit'], 'a commit or why not');
    const categories = JSON.parse(data.get('widgets/categories.json') ?? '{}') as { roots: string[]; nodes: Record<string, { name: string; childrenIds?: string[] }> };
    const roots = categories.roots.map((id) => categories.nodes[id]!);
    assert.ok(roots.some((n) => n.name === 'Hop: api'), `categories: ${roots.map((n) => n.name).join(', ')}`);
    const api = roots.find((n) => n.name === 'Hop: api')!;
    assert.ok(api.childrenIds!.map((id) => categories.nodes[id]!.name).includes('guide: Confirm Local Connectivity'));
    // The tree: hop, then guide section, then check, then the test.
    const tree = JSON.parse(data.get('widgets/tree.json') ?? '{}') as { root: { groups: string[]; leaves?: string[] }; groupsById: Record<string, { name: string; groups?: string[]; leaves?: string[] }> };
    const names = (ids: string[] = []) => ids.map((id) => tree.groupsById[id]!.name);
    // The KASM_DEBUG override is a test beside the checks, skipped in a read-only run; nothing hangs at the root.
    assert.deepEqual(names(tree.root.groups).sort(), [...HOPS.map((hop) => `hop: ${hop}`), 'Kasm settings (@mutating)'].sort());
    assert.deepEqual(tree.root.leaves ?? [], []);
    const apiHop = tree.root.groups.map((id) => tree.groupsById[id]!).find((g) => g.name === 'hop: api')!;
    const section = apiHop.groups!.map((id) => tree.groupsById[id]!).find((g) => g.name === 'Confirm Local Connectivity')!;
    assert.ok(names(section.groups).includes('api.health'), `checks under api / Confirm Local Connectivity: ${names(section.groups).join(', ')}`);
  });

  it('opens from disk in Chromium with no request leaving the file, the diagnosis first on screen', { timeout: 120_000 }, async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const requested: string[] = [];
    await context.route('**/*', (route) => {
      const url = route.request().url();
      requested.push(url);
      return /^(?:file|data|blob):/.test(url) ? route.continue() : route.abort();
    });
    const page = await context.newPage();
    page.on('request', (request) => requested.push(request.url()));
    page.on('websocket', (ws) => requested.push(ws.url()));
    try {
      await page.goto(pathToFileURL(firstIncident).href);
      await page.waitForFunction(() => (document.querySelector('#app')?.childElementCount ?? 0) > 0 && !document.querySelector('#allure-app-loader'), undefined, { timeout: 60_000 });
      // The tree is grouped by hop, then the guide's section, then the check.
      for (const node of ['hop: api', 'Confirm Local Connectivity', 'api.health']) await page.locator('#app').getByText(node, { exact: true }).first().click();
      await page.getByText('kasm_api answers its health check', { exact: false }).first().click();
      await page.waitForLoadState('networkidle');
      const panel = page.locator('#kasm-diagnosis');
      const text = await panel.innerText();
      assert.match(text, /Kasm diagnosis: BROKEN, faulty hop: api/);
      assert.match(text, /webapp\.containers on hop api \(host [^)]+\): kasm_api Exited/);
      assert.match(text, /Fix: On that server: sudo docker ps -a; start what is down by stopping and starting Kasm in order/);
      await page.evaluate(() => window.scrollTo(0, 0));
      const box = await panel.boundingBox();
      assert.equal(box?.y, 0, 'the panel starts the page');
      assert.equal(await page.evaluate(() => Boolean(document.elementFromPoint(40, 40)?.closest('#kasm-diagnosis'))), true, 'nothing covers it');
      assert.deepEqual(requested.filter((u) => !/^(?:file|data|blob):/.test(u)), [], 'requests that left the file');
    } finally {
      await context.close();
    }
  });

  it('shows the diagnosis with JavaScript off', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    try {
      const page = await context.newPage();
      await page.goto(pathToFileURL(firstIncident).href);
      assert.match(await page.locator('#kasm-diagnosis').innerText(), /faulty hop: api[\s\S]*Fix:/);
      assert.equal(await page.evaluate(() => Boolean(document.elementFromPoint(40, 40)?.closest('#kasm-diagnosis'))), true, "Allure's loader does not cover it");
    } finally {
      await context.close();
    }
  });

  it('cuts attachments to fit a smaller budget and lists each cut in the panel', { timeout: 180_000 }, async () => {
    const budget = statSync(firstIncident).size - 30_000;
    const cli = await runReport(lab, work, { KASM_REPORT_MAX_BYTES: String(budget) });
    assert.equal(cli.code, 0, `${cli.stdout}\n${cli.stderr}`);
    assert.match(cli.stdout, /attachments? cut to fit\)$/m);
    assert.ok(statSync(incident).size <= budget, `${statSync(incident).size} > ${budget}`);
    const page = readFileSync(incident, 'utf8');
    const panel = page.slice(page.indexOf('<section id="kasm-diagnosis"'), page.indexOf('</section>'));
    assert.match(panel, /<h2>Trimmed to fit \d+(\.\d+)? MB<\/h2>/);
    const items = panel.match(/<li>[^<]*: "[^<]*" \(\d+(\.\d+)? (KB|bytes)\) (cut to its head and tail|replaced by a note)<\/li>/g) ?? [];
    assert.ok(items.length >= 1, panel);
    const { data } = scan(page);
    assert.ok([...data.values()].some((text) => text.includes('bytes trimmed from this attachment to fit the incident report budget')), 'a cut attachment carries the marker');
  });

  it('still writes an incident file that cannot fit, says so in the panel and on stderr, and exits 1', { timeout: 240_000 }, async () => {
    const cli = await runReport(lab, work, { KASM_REPORT_MAX_BYTES: '1000000' });
    assert.equal(cli.code, 1, `${cli.stdout}\n${cli.stderr}`);
    assert.match(cli.stderr, /over its budget of 1 MB \(KASM_REPORT_MAX_BYTES=1000000\) even with every attachment cut; it was written anyway and its panel says so/);
    assert.match(readFileSync(incident, 'utf8'), /<p class="kasm-over">Still [\d.]+ MB over the budget after cutting everything that could be cut: the file is larger than 1 MB\.<\/p>/);
  });

  it('refuses a bad budget and missing results with exit 2', async () => {
    const bad = await runReport(lab, work, { KASM_REPORT_MAX_BYTES: '10MB' });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /KASM_REPORT_MAX_BYTES: must be a whole number of bytes/);
    const empty = join(work, 'empty');
    mkdirSync(empty);
    const missing = await runReport(lab, empty);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /No Allure results in \S+: run npm run check first\./);
  });
});
