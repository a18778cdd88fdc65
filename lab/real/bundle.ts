// The programs of ours that run in the lab's containers, bundled once per lab start with esbuild (about a tenth of a
// second) into <root>/bundle, so a container starts plain `node` on one file: no TypeScript compile in every fresh
// session container, and only the bundle (not the project) is mounted into containers.
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const SERVICES = ['api', 'agent', 'kasmvnc', 'service'] as const;
export type Service = (typeof SERVICES)[number];

export async function bundleServices(outdir: string): Promise<void> {
  const here = fileURLToPath(new URL('.', import.meta.url));
  await build({
    entryPoints: SERVICES.map((name) => join(here, 'services', `${name}.ts`)),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outdir,
    outExtension: { '.js': '.mjs' },
    // ws loads these native speed-ups only when present.
    external: ['bufferutil', 'utf-8-validate'],
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    logLevel: 'error',
  });
  // KasmVNC's web client, which lab/kasmvnc.ts serves from ./www beside itself.
  cpSync(join(here, '..', 'www'), join(outdir, 'www'), { recursive: true });
}
