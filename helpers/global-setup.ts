// Starts the embedded lab when the environment asks for it (KASM_LAB=embedded and no KASM_URL), exports its
// variables to the workers, and stops it when the run ends.
import type { FullConfig } from '@playwright/test';
import { ConfigError, loadConfig } from './config.ts';

export default async function globalSetup(_config: FullConfig): Promise<(() => Promise<void>) | undefined> {
  const config = loadConfig();
  if (!config.labPending) return undefined;
  const { startLab } = await import('../lab/index.ts');
  const lab = await startLab({
    faults: config.lab.faults,
    webapps: Number(process.env.KASM_LAB_WEBAPPS ?? 1),
    agents: Number(process.env.KASM_LAB_AGENTS ?? 1),
    zones: Number(process.env.KASM_LAB_ZONES ?? 1),
  }).catch((error: unknown) => {
    console.error(`The embedded lab could not start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
  });
  Object.assign(process.env, lab.env);
  try {
    loadConfig({ refresh: true });
  } catch (error) {
    await lab.stop();
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
  console.log(`Embedded Kasm lab at ${lab.url}${lab.faults.active.size ? ` with faults: ${[...lab.faults.active].join(', ')}` : ''}`);
  return () => lab.stop();
}
