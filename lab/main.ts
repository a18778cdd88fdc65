// `npm run lab`: start the embedded lab and keep it up until Ctrl-C.
import { parseArgs } from 'node:util';
import { FAULTS } from './faults.ts';
import { startEmbeddedLab, type LabKind } from './embedded.ts';

const SECRET = /SECRET|PASSWORD/;

const { values } = parseArgs({
  options: {
    faults: { type: 'string', default: process.env.KASM_LAB_FAULTS ?? '' },
    webapps: { type: 'string', default: process.env.KASM_LAB_WEBAPPS ?? '1' },
    agents: { type: 'string', default: process.env.KASM_LAB_AGENTS ?? '1' },
    zones: { type: 'string', default: process.env.KASM_LAB_ZONES ?? '1' },
    'kasmvnc-log-level': { type: 'string', default: process.env.KASM_LAB_KASMVNC_LOG_LEVEL ?? '100' },
    'log-history': { type: 'string', default: process.env.KASM_LAB_LOG_HISTORY ?? '0' },
    kind: { type: 'string', default: process.env.KASM_LAB_KIND ?? 'auto' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log(`npm run lab -- [--kind auto|real|in-process] [--faults a,b] [--webapps N] [--agents N] [--zones N] [--kasmvnc-log-level 100|30] [--log-history 1G] [--keep]\n\nFaults:\n${Object.entries(FAULTS).map(([name, what]) => `  ${name.padEnd(28)} ${what}`).join('\n')}`);
  process.exit(0);
}

const count = (name: string, value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 50) {
    console.error(`lab: --${name} must be a whole number from 1 to 50, got "${value}"`);
    process.exit(2);
  }
  return n;
};

/** `512M`, `1G`, `1048576`: bytes of older history in every kasm_api and kasm_proxy log. */
function size(value: string): number {
  const m = /^(\d+)([KMG]?)i?B?$/i.exec(value.trim());
  if (!m) {
    console.error(`lab: --log-history must be a size such as 1048576, 512M or 1G, got "${value}"`);
    process.exit(2);
  }
  return Number(m[1]) * 1024 ** ' KMG'.indexOf((m[2] || ' ').toUpperCase());
}

if (!['auto', 'real', 'in-process'].includes(values.kind)) {
  console.error(`lab: --kind (KASM_LAB_KIND) must be auto, real or in-process, got "${values.kind}"`);
  process.exit(2);
}

try {
  const chosen = await startEmbeddedLab(values.kind as LabKind, {
    faults: values.faults,
    webapps: count('webapps', values.webapps),
    agents: count('agents', values.agents),
    zones: count('zones', values.zones),
    kasmvncLogLevel: Number(values['kasmvnc-log-level']),
    logHistoryBytes: size(values['log-history']),
    keep: values.keep,
  });
  const { lab } = chosen;
  console.log(`Kasm lab (${chosen.kind}${chosen.reason ? `: ${chosen.reason}` : ''}) is up (state in ${lab.root})`);
  console.log(`  Web app:      ${lab.url}`);
  if (chosen.kind === 'real-parts') {
    for (const { role, host } of chosen.lab.hosts.hosts) console.log(`  ${host.spec.hostname.padEnd(14)}  ${role.padEnd(8)} ${host.spec.ip}   namespace ${host.ns}`);
    console.log(`  SSH (OpenSSH, through the bastion):  ssh -F ${chosen.lab.hosts.ssh.configFile} kasm-agent-1`);
  } else {
    for (const host of chosen.lab.hosts) {
      console.log(`  ${host.id.padEnd(12)}  kasm_proxy https://${host.ip}:${host.proxyPort}   ssh ${chosen.lab.ssh.user}@${host.ip} -p ${host.sshPort} -i ${chosen.lab.ssh.clientKeyFile} -o UserKnownHostsFile=${chosen.lab.ssh.knownHostsFile}`);
    }
  }
  console.log(`  Faults:       ${[...lab.faults.active].join(', ') || 'none'}`);
  const localFile = lab.envFile.replace(/\.env$/, '.local.env');
  console.log(`\nEnvironment (${lab.envFile}; the secrets only in ${localFile}):`);
  for (const [key, value] of Object.entries(lab.env)) console.log(`  ${key}=${SECRET.test(key) ? '<in the file>' : value}`);
  console.log(`\nRun the suite against it:  KASM_ENV_FILE=${lab.envFile} npm run check\n  (or in a shell: set -a; . ${lab.envFile}; . ${localFile}; set +a)\nCtrl-C stops the lab.`);
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    void lab.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
} catch (error) {
  console.error(`lab: could not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(2);
}
