// How a @mutating step tells the diagnosis what it changed in Kasm and what became of it.
import type { TestInfo } from '@playwright/test';
import { CHANGE_ATTACHMENT, type SettingChange } from './finding.ts';
import { redactValue } from '../redact.ts';

export const OVERRIDE_SETTING = 'Docker Run Config Override';

export async function attachChange(testInfo: TestInfo, change: SettingChange): Promise<void> {
  await testInfo.attach(CHANGE_ATTACHMENT, { body: JSON.stringify(redactValue(change)), contentType: 'application/json' });
}

/** Where the override and its restore sit in the Allure tree, beside the checks (they are tests, not checks). */
export const KASM_DEBUG_STEP = { epic: 'Kasm settings (@mutating)', guideSection: 'KasmVNC Troubleshooting', story: 'KASM_DEBUG override' } as const;
