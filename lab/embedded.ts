// Which embedded lab a run gets: the real-parts lab (lab/real/) where it can run, since that is what users' hosts
// are made of, else the in-process lab (lab/index.ts), with the reason said in one line.
import { parseFaults } from './faults.ts';
import { startLab, type Lab, type LabOptions } from './index.ts';
import { realLabSupport } from './real/prereqs.ts';
import { REAL_FAULTS, startRealLab, type RealLab } from './real/index.ts';

export type LabKind = 'auto' | 'real' | 'in-process';

export type ChosenLab =
  | { kind: 'real-parts'; lab: RealLab; reason?: undefined }
  /** reason: why the in-process lab was used, when the real-parts one was not. */
  | { kind: 'in-process'; lab: Lab; reason: string };

export class LabUnavailableError extends Error {
  readonly code = 'LAB_UNAVAILABLE';
}

/** Why the real-parts lab cannot serve these options, or undefined when it can. */
async function realBlocker(options: LabOptions, install: boolean): Promise<string | undefined> {
  if ((options.webapps ?? 1) !== 1) return 'it has one WebApp server for now (KASM_LAB_WEBAPPS)';
  if ((options.zones ?? 1) !== 1) return 'it has one zone for now (KASM_LAB_ZONES)';
  const pending = parseFaults(options.faults).filter((f) => !REAL_FAULTS.has(f));
  if (pending.length) return `${pending.join(', ')} ${pending.length === 1 ? 'has' : 'have'} no real-parts form yet`;
  const support = await realLabSupport({ install });
  return support.ok ? undefined : support.reason;
}

export async function startEmbeddedLab(kind: LabKind, options: LabOptions): Promise<ChosenLab> {
  if (kind !== 'in-process') {
    const blocker = await realBlocker(options, true);
    if (!blocker) {
      const lab = await startRealLab({ faults: options.faults, agents: options.agents, kasmvncLogLevel: options.kasmvncLogLevel, credentials: options.credentials, keep: options.keep });
      return { lab, kind: 'real-parts' };
    }
    if (kind === 'real') throw new LabUnavailableError(`KASM_LAB_KIND=real: the real-parts lab cannot run here: ${blocker}`);
    return { lab: await startLab(options), kind: 'in-process', reason: `the real-parts lab cannot run here: ${blocker}` };
  }
  return { lab: await startLab(options), kind: 'in-process', reason: 'KASM_LAB_KIND=in-process' };
}
