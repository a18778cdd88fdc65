// Failure categories from the prefix check.ts's fail() gives its message: `[<hop>] <check-id>: ...`. Playwright puts
// the error's class name in front (`Error: [api] api.health: ...`), and a retried check wraps it
// (`Error: not retried: attempt 1 failed ...: Error: [api] api.session-create: ...`), so the prefix is looked for at
// the start or after an `Error: `.
//
// Allure 3's awesome plugin takes categories from the config (allurerc.mjs `categories`), not from
// allure-results/categories.json, and files each test under the FIRST rule that matches. So its rules are one per
// hop, each grouped by guide section (a label the report CLI adds to every check's result). categories.json, the
// Allure 2 format that allure2/classic reports read and where a test joins every matching category, gets one
// category per hop and one per guide section.
import { CHECKS, GUIDE_LABEL, HOPS, type Hop } from '../diagnosis/catalog.ts';

const AT = '(?:^|Error: )';
const CHECK_ID = '[a-z]+\\.[a-z0-9-]+';
const FAILED = ['failed', 'broken'];

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export const hopMessagePattern = (hop: Hop) => `${AT}\\[${hop}\\] ${CHECK_ID}[ :]`;

export interface AllureCategoryRule {
  id: string;
  name: string;
  matchers: { statuses: string[]; message: string };
  groupBy?: Array<{ label: string }>;
  expand: boolean;
}

export function allureCategoryRules(): AllureCategoryRule[] {
  return HOPS.map((hop) => ({ id: `kasm-hop-${hop}`, name: `Hop: ${hop}`, matchers: { statuses: FAILED, message: hopMessagePattern(hop) }, groupBy: [{ label: GUIDE_LABEL }], expand: true }));
}

export interface Allure2Category {
  name: string;
  messageRegex: string;
  matchedStatuses: string[];
}

export function guideSections(): Map<string, string[]> {
  const sections = new Map<string, string[]>();
  for (const [id, spec] of Object.entries(CHECKS)) sections.set(spec.guideSection, [...(sections.get(spec.guideSection) ?? []), id]);
  return sections;
}

// Allure 2 matches messageRegex against the whole message (Java's Pattern.matches), hence [\s\S]* around it (our
// messages span lines; JavaScript has no inline (?s)).
export function allure2Categories(): Allure2Category[] {
  const byHop = HOPS.map((hop) => ({ name: `Hop: ${hop}`, messageRegex: `[\\s\\S]*?${hopMessagePattern(hop)}[\\s\\S]*`, matchedStatuses: FAILED }));
  const bySection = [...guideSections()].map(([section, ids]) => ({
    name: `Guide: ${section}`,
    messageRegex: `[\\s\\S]*?${AT}\\[\\w+\\] (?:${ids.map(escapeRegex).join('|')})[ :][\\s\\S]*`,
    matchedStatuses: FAILED,
  }));
  return [...byHop, ...bySection];
}
