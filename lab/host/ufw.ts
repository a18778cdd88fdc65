// `ufw status` for a simulated host, from the lab's firewall model (HostState.firewall), in the layout of ufw's
// backend get_status(). The suite only reads the firewall, so changing it is not simulated.
import type { HostState } from '../state.ts';
import { CommandFailure, HostContext, write, type Io } from './context.ts';

interface UfwRule {
  to: string;
  action: 'ALLOW' | 'DENY';
  from: string;
}

function ufwRules(host: HostState): UfwRule[] {
  const v4: UfwRule[] = [{ to: '22/tcp', action: 'ALLOW', from: 'Anywhere' }, ...host.firewall.blockedPorts.map((port) => ({ to: `${port}/tcp`, action: 'DENY' as const, from: 'Anywhere' }))];
  return [...v4, ...v4.map((rule) => ({ ...rule, to: `${rule.to} (v6)`, from: `${rule.from} (v6)` }))];
}

/** ufw's `"%-26s %-12s%-26s%s%s\n"` rows; the direction shows only in verbose and numbered listings. */
function ufwTable(rules: UfwRule[], mode: 'plain' | 'verbose' | 'numbered'): string {
  const indent = mode === 'numbered' ? '     ' : '';
  const header = (to: string, action: string, from: string) => `${indent}${to.padEnd(26)} ${action.padEnd(12)}${from}\n`;
  const rows = rules.map((rule, i) => {
    const number = mode === 'numbered' ? `[${String(i + 1).padStart(2)}] ` : '';
    const action = mode === 'plain' ? `${rule.action} ` : `${rule.action} IN`;
    return `${number}${rule.to.padEnd(26)} ${action.padEnd(12)}${rule.from.padEnd(26)}\n`;
  });
  return `\n\n${header('To', 'Action', 'From')}${header('--', '------', '----')}${rows.join('')}`;
}

export async function ufw(io: Io, args: string[]): Promise<number> {
  const [command, detail] = args;
  if (command !== 'status') throw new CommandFailure(`lab: only "ufw status [verbose|numbered]" is simulated (the suite never changes the firewall)`, 2);
  if (detail !== undefined && detail !== 'verbose' && detail !== 'numbered') throw new CommandFailure(`ERROR: Invalid syntax`, 1);
  const host = HostContext.of(io).host();
  if (host.firewall.ufw === 'inactive') {
    await write(io.stdout, 'Status: inactive\n', io.signal);
    return 0;
  }
  const table = ufwTable(ufwRules(host), detail ?? 'plain');
  const text =
    detail === 'verbose'
      ? `Status: active\nLogging: on (low)\nDefault: deny (incoming), allow (outgoing), deny (routed)\nNew profiles: skip${table}`
      : `Status: active${table}`;
  await write(io.stdout, `${text}\n`, io.signal);
  return 0;
}
