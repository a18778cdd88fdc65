import { writeFileSync, mkdirSync } from 'node:fs';
import { shareSecrets } from '../../../helpers/global-setup.ts';

export default function globalSetup(): void {
  const dir = process.env.KASM_CANARY_DIR ?? 'canary-run';
  mkdirSync(dir, { recursive: true });
  // Where the workers share what they learn: the test checks the last redaction pass removed it.
  writeFileSync(`${dir}/shared-path.txt`, shareSecrets());
}
