// The diagnosis panel at the top of the incident file: static HTML with its own CSS, readable with JavaScript off
// and before Allure's app has loaded, then the Allure report below it.
import { guideLink } from '../diagnosis/catalog.ts';
import type { Diagnosis, Finding, SettingChange } from '../diagnosis/finding.ts';
import { formatBytes } from './budget.ts';
import { ReportError } from './errors.ts';
import { escapeHtml as e } from './html.ts';
import type { TrimRecord } from './results.ts';
import { formatCounts, healthyScope } from '../diagnosis/tally.ts';
import { oneLine } from './text.ts';

export interface PanelInput {
  diagnosis: Diagnosis;
  budgetBytes: number;
  trimmed: TrimRecord[];
  /** Set when the file is over budget even with everything cut. */
  overBudgetBytes?: number;
}

// Scoped to the panel's id so Allure's styles and ours leave each other alone. The loader Allure shows until its
// app starts covers the page; without JavaScript it would never go, so it is hidden then.
const STYLE = `<style>
#kasm-diagnosis{all:initial;display:block;box-sizing:border-box;margin:0;padding:16px 24px;border-bottom:4px solid #b91c1c;background:#fff;color:#111;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Arial,sans-serif;position:relative;z-index:2147483647}
#kasm-diagnosis.kasm-healthy{border-bottom-color:#15803d}
#kasm-diagnosis *{box-sizing:border-box;color:inherit;font:inherit}
#kasm-diagnosis h1{display:block;margin:0 0 4px;font-size:20px;font-weight:700}
#kasm-diagnosis h2{display:block;margin:14px 0 6px;font-size:16px;font-weight:700}
#kasm-diagnosis p{display:block;margin:2px 0}
#kasm-diagnosis li{display:list-item;margin:2px 0}
#kasm-diagnosis details{display:block;margin:10px 0 0}
#kasm-diagnosis summary{display:list-item;cursor:pointer;font-weight:700;font-size:16px}
#kasm-diagnosis ul,#kasm-diagnosis ol{display:block;margin:0;padding:0 0 0 20px;list-style:disc outside}
#kasm-diagnosis ol{list-style-type:decimal}
#kasm-diagnosis li.kasm-finding{margin:0 0 10px}
#kasm-diagnosis code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px;background:#f1f5f9;padding:0 3px}
#kasm-diagnosis a{color:#1d4ed8;text-decoration:underline}
#kasm-diagnosis b{font-weight:700}
#kasm-diagnosis .kasm-meta,#kasm-diagnosis .kasm-note{color:#444}
#kasm-diagnosis .kasm-over{color:#b91c1c;font-weight:700}
</style><noscript><style>.allure-app-loader{display:none!important}</style></noscript>`;

/** Escaped text with its `code spans` (commands in remediations) set as code. */
const prose = (text: string) => e(text).replace(/`([^`]+)`/g, '<code>$1</code>');

function findingItem(f: Finding): string {
  return (
    `<li class="kasm-finding"><p><b><code>${e(f.check)}</code></b> on hop <b>${e(f.hop)}</b>${f.target ? ` (host <code>${e(f.target)}</code>)` : ''}: ${prose(f.summary)}</p>` +
    `<p><b>Fix:</b> ${prose(f.remediation)}</p>` +
    (f.unverified ?? []).map((note) => `<p class="kasm-unverified"><b>Not verified:</b> ${e(note)}</p>`).join('') +
    `<p>Guide: <a href="${e(guideLink(f.guideSection))}" rel="noreferrer">${e(f.guideSection)}</a></p></li>`
  );
}

function changeItem(c: SettingChange): string {
  return `<li>${e(c.setting)} of "${e(c.workspace)}": <code>${e(c.change)}</code> <b>${e(c.state)}</b>: ${e(c.detail)}</li>`;
}

function trimmedSection(input: PanelInput): string {
  if (!input.trimmed.length && input.overBudgetBytes === undefined) return '';
  const items = input.trimmed.map((t) => `<li>${e(t.test)}: "${e(t.attachment)}" (${e(formatBytes(t.bytes))}) ${t.action === 'trimmed' ? 'cut to its head and tail' : 'replaced by a note'}</li>`).join('');
  const over = input.overBudgetBytes === undefined ? '' : `<p class="kasm-over">Still ${e(formatBytes(input.overBudgetBytes))} over the budget after cutting everything that could be cut: the file is larger than ${e(formatBytes(input.budgetBytes))}.</p>`;
  return `<h2>Trimmed to fit ${e(formatBytes(input.budgetBytes))}</h2>${over}<p class="kasm-note">The full report (reports/allure-report/index.html) keeps these attachments whole.</p><ul>${items}</ul>`;
}

function list(title: string, items: string[], ordered = false): string {
  if (!items.length) return '';
  const tag = ordered ? 'ol' : 'ul';
  return `<h2>${e(title)}</h2><${tag}>${items.join('')}</${tag}>`;
}

// Closed by default (it opens without JavaScript too): every entry repeats the failure above it.
function blockedSection(blocked: Finding[]): string {
  if (!blocked.length) return '';
  const items = blocked.map((f) => `<li><code>${e(f.check)}</code>${f.target ? ` (host <code>${e(f.target)}</code>)` : ''}: ${e(oneLine(f.summary))}</li>`).join('');
  return `<details><summary>Blocked: failed only because a check they depend on failed</summary><ul>${items}</ul></details>`;
}

function headline(d: Diagnosis): string {
  if (d.verdict === 'healthy') return `Kasm diagnosis: HEALTHY${d.coverage.unchecked.length ? ` (${healthyScope(d.coverage)})` : ''}`;
  return `Kasm diagnosis: BROKEN, faulty hop: ${d.faultyHop ?? 'not determined'}`;
}

export function diagnosisPanel(input: PanelInput): string {
  const d = input.diagnosis;
  const blocked = d.findings.filter((f) => f.status === 'skip' && f.blockedBy);
  return [
    `<section id="kasm-diagnosis" class="${d.verdict === 'healthy' ? 'kasm-healthy' : 'kasm-broken'}" aria-label="Kasm diagnosis">${STYLE}`,
    `<h1>${e(headline(d))}</h1>`,
    `<p class="kasm-meta">Kasm URL <code>${e(d.kasmUrl)}</code>, run finished ${e(d.generatedAt)}: ${e(formatCounts(d.counts))}.</p>`,
    list('Not verified in this run', (d.unverified ?? []).map((note) => `<li class="kasm-unverified">${e(note)}</li>`)),
    list('Failing checks', d.findings.filter((f) => f.status === 'fail').map(findingItem), true),
    list('Warnings', d.findings.filter((f) => f.status === 'warn').map(findingItem)),
    blockedSection(blocked),
    list('Kasm settings changed and restored', d.changes.map(changeItem)),
    trimmedSection(input),
    `<p class="kasm-note">Details below: the Allure report of this run (every check, its steps and evidence). It needs JavaScript; this summary does not.</p>`,
    `</section>`,
  ].join('\n');
}

/** Puts the panel first in <body>, so it is the first screen whether or not Allure's app runs. */
export function injectPanel(html: string, panel: string): string {
  const body = /<body\b[^>]*>/i.exec(html);
  if (!body) throw new ReportError('KASM_REPORT_BAD_HTML', 'The Allure report has no <body> to put the diagnosis panel in: Allure\'s page template changed; update helpers/report/incident.ts.');
  const at = body.index + body[0].length;
  return `${html.slice(0, at)}\n${panel}\n${html.slice(at)}`;
}
