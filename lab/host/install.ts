// Puts the host command stand-ins into <root>/bin: one esbuild bundle of commands.ts, and a shell shim per command
// name so that `docker`, `sudo`, ... in an SSH session (PATH=<root>/bin:...) and `Xvnc` in a container
// (PATH=<root>/bin/container:...) resolve to it.
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { paths } from '../state.ts';
import { CONTAINER_COMMANDS, HOST_COMMANDS } from './commands.ts';

const COMMANDS_SOURCE = join(dirname(fileURLToPath(import.meta.url)), 'commands.ts');

const shellQuote = (value: string) => `'${value.replaceAll("'", `'\\''`)}'`;

/** The node binary is named by absolute path: inside a container the PATH holds only /usr/bin and /bin. */
function shim(bundle: string, command: string): string {
  return `#!/bin/sh\nexec ${shellQuote(process.execPath)} ${shellQuote(bundle)} ${command} "$@"\n`;
}

async function writeShim(file: string, content: string): Promise<void> {
  await writeFile(file, content);
  await chmod(file, 0o755);
}

export async function installHostCommands(root: string): Promise<void> {
  const bin = paths.bin(root);
  const bundle = join(bin, 'lab-host.mjs');
  await mkdir(join(bin, 'container'), { recursive: true });
  await build({
    stdin: {
      contents: `import { main } from ${JSON.stringify(COMMANDS_SOURCE)};\nprocess.exitCode = await main(process.argv.slice(2));\n`,
      resolveDir: dirname(COMMANDS_SOURCE),
      sourcefile: 'lab-host-entry.ts',
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: bundle,
    logLevel: 'silent',
  });
  await Promise.all([
    ...HOST_COMMANDS.map((command) => writeShim(join(bin, command), shim(bundle, command))),
    ...CONTAINER_COMMANDS.map((command) => writeShim(join(bin, 'container', command), shim(bundle, command))),
  ]);
}
