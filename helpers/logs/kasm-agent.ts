// kasm_agent's container log (`docker logs kasm_agent`): the PyInstaller launcher's lines (`Executing
// /usr/bin/kasm_agent.so`, `[9] Failed to execute script '__init__' due to unhandled exception!`), Python logging from
// `__main__.handler`, tracebacks, and the shell's `Terminated` when the process is killed. Read from public issues
// (tests/fixtures/real/agent-*): each start is a line, each stop a traceback, a PyInstaller failure or `Terminated`.

/** One stop of the agent: the traceback or line that ended it, with the exception line when there is one. */
export interface AgentStop {
  kind: 'traceback' | 'launcher-failed' | 'terminated';
  /** `TypeError: 'NoneType' object is not subscriptable`: the last unindented line of a traceback. */
  exception?: string;
  lines: string[];
}

export interface KasmAgentLog {
  /** `Executing /usr/bin/kasm_agent.so` lines: one per start of the process. */
  starts: number;
  stops: AgentStop[];
  /** `[WARNING]`/`[ERROR]` lines of the agent's own logger. */
  problems: string[];
  lines: number;
}

export const AGENT_START = /^Executing \/usr\/bin\/kasm_agent(?:\.so)?\b/;
const LAUNCHER_FAILED = /^\[\d+\] Failed to execute script '.*' due to unhandled exception!?/;
const TRACEBACK = /^Traceback \(most recent call last\):/;
export const EXCEPTION = /^[A-Za-z_][\w.]*(?:Error|Exception|NotFound|Exit|Interrupt|Warning)\b.*?:|^[A-Za-z_][\w.]*(?:Error|Exception)$/;
const PROBLEM = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}[,.]\d+ \[(?:WARNING|ERROR|CRITICAL)\] /;

export function parseKasmAgentLog(lines: readonly string[]): KasmAgentLog {
  const log: KasmAgentLog = { starts: 0, stops: [], problems: [], lines: lines.length };
  let traceback: AgentStop | null = null;
  for (const raw of lines) {
    const line = raw.trimEnd();
    if (AGENT_START.test(line)) log.starts += 1;
    if (TRACEBACK.test(line)) {
      traceback = { kind: 'traceback', lines: [line] };
      log.stops.push(traceback);
      continue;
    }
    if (traceback && (/^\s/.test(line) || EXCEPTION.test(line))) {
      traceback.lines.push(line);
      if (EXCEPTION.test(line)) traceback.exception ??= line;
      continue;
    }
    traceback = null;
    if (LAUNCHER_FAILED.test(line)) {
      // The launcher's line closes the traceback it printed just before; alone, it is a stop of its own.
      const last = log.stops.at(-1);
      if (last?.kind === 'traceback' && !last.lines.some((l) => LAUNCHER_FAILED.test(l))) last.lines.push(line);
      else log.stops.push({ kind: 'launcher-failed', lines: [line] });
    } else if (line.trim() === 'Terminated') {
      log.stops.push({ kind: 'terminated', lines: [line] });
    } else if (PROBLEM.test(line)) {
      log.problems.push(line);
    }
  }
  return log;
}
