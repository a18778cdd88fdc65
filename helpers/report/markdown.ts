// The diagnosis as Markdown for a ticket (reports/diagnosis.md): what is broken, on which hop, and what to do. It
// reads as plain text too, so escaping is kept to what would change the rendering.
import { guideLink } from '../diagnosis/catalog.ts';
import type { Diagnosis, Finding, SettingChange } from '../diagnosis/finding.ts';
import { formatCounts, healthyScope } from '../diagnosis/tally.ts';
import { oneLine } from './text.ts';

/**
 * Escapes Markdown in prose; `code spans` stay as written, since remediations put commands in them. Underscores stay
 * too: /api/__healthcheck and kasm_api read better than the escaped forms, and at worst a word turns italic.
 */
export function markdownText(text: string): string {
  const parts = text.trim().replace(/\s*\n\s*/g, ' ').split(/(`[^`]+`)/);
  return parts.map((part, i) => (i % 2 === 1 ? part : part.replace(/[\\`*[\]<>|]/g, '\\$&'))).join('');
}

function where(f: Finding): string {
  return `**\`${f.check}\`** (hop \`${f.hop}\`${f.target ? `, host \`${f.target}\`` : ''})`;
}

function actionable(f: Finding): string[] {
  return [
    `- ${where(f)}: ${markdownText(f.summary)}`,
    `  - Fix: ${markdownText(f.remediation)}`,
    `  - Guide: [${markdownText(f.guideSection)}](${guideLink(f.guideSection)})`,
    ...(f.unverified ?? []).map((note) => `  - Not verified: ${markdownText(note)}`),
  ];
}

function change(c: SettingChange): string {
  const state = c.state.endsWith('-failed') ? `**${c.state}**` : c.state;
  return `- ${markdownText(`${c.setting} of "${c.workspace}": ${c.change}`)}: ${state}. ${markdownText(c.detail)}`;
}

function section(title: string, lines: string[]): string[] {
  return lines.length ? ['', `## ${title}`, '', ...lines] : [];
}

function title(d: Diagnosis): string {
  if (d.verdict === 'healthy') return `# Kasm diagnosis: HEALTHY${d.coverage.unchecked.length ? ` (${markdownText(healthyScope(d.coverage))})` : ''}`;
  return `# Kasm diagnosis: BROKEN, ${d.faultyHop ? `faulty hop \`${d.faultyHop}\`` : 'faulty hop not determined'}`;
}

export function diagnosisMarkdown(d: Diagnosis): string {
  const failing = d.findings.filter((f) => f.status === 'fail');
  const warnings = d.findings.filter((f) => f.status === 'warn');
  const blocked = d.findings.filter((f) => f.status === 'skip' && f.blockedBy);
  const skipped = d.findings.filter((f) => f.status === 'skip' && !f.blockedBy);
  const steps = d.tests.filter((t) => !t.check && t.outcome === 'skipped');
  const lines = [
    title(d),
    '',
    `- Kasm URL: ${d.kasmUrl}`,
    `- Generated: ${d.generatedAt}`,
    `- Tests: ${formatCounts(d.counts)}`,
    ...(d.unverified ?? []).map((note) => `- **Not verified:** ${markdownText(note)}`),
    ...section('Failing checks', [...failing.flatMap(actionable), ...d.tests.filter((t) => !t.check && t.outcome === 'failed').map((t) => `- ${markdownText(t.title)}: failed${t.why ? `: ${markdownText(oneLine(t.why))}` : ''}`)]),
    ...section('Warnings', warnings.flatMap(actionable)),
    ...section('Blocked (failed only because a check they depend on failed)', blocked.map((f) => `- \`${f.check}\`${f.target ? ` on \`${f.target}\`` : ''}: ${markdownText(oneLine(f.summary))}`)),
    ...section('Skipped', [
      ...skipped.map((f) => `- \`${f.check}\`${f.target ? ` on \`${f.target}\`` : ''}: ${markdownText(oneLine(f.summary))}`),
      ...steps.map((t) => `- ${markdownText(t.title)}: ${t.outcome}${t.why ? `: ${markdownText(oneLine(t.why))}` : ''}`),
    ]),
    ...section('Kasm settings changed and restored', d.changes.map(change)),
  ];
  return `${lines.join('\n')}\n`;
}
