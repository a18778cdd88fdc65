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
  /** The manager's answers to the agent's `agent_config` requests, each with the request's line. */
  configAnswers: ManagerAnswer[];
  lines: number;
}

/** What the agent logged right after `Sending manager request (<url>)`: the manager's answer, or the error. */
export interface ManagerAnswer {
  url: string;
  /** The handler's next message, as logged (`{}`, `{'agent': {'retention_period': '24'}}`). */
  answer: string;
  lines: [string, string];
}

export const AGENT_START = /^Executing \/usr\/bin\/kasm_agent(?:\.so)?\b/;
const LAUNCHER_FAILED = /^\[\d+\] Failed to execute script '.*' due to unhandled exception!?/;
const TRACEBACK = /^Traceback \(most recent call last\):/;
// The lookahead first: with no colon on the line, each suffix found in a long dotted name would scan to its end again.
export const EXCEPTION = /^(?=.*:)[A-Za-z_][\w.]*(?:Error|Exception|NotFound|Exit|Interrupt|Warning)\b.*?:|^[A-Za-z_][\w.]*(?:Error|Exception)$/;
const PROBLEM = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}[,.]\d+ \[(?:WARNING|ERROR|CRITICAL)\] /;
const HANDLER = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}[,.]\d+ \[[A-Z]+\] __main__\.handler: (.*)$/;
// The agent fetches its settings from the manager at each start (workspaces-issues #645, kasm-helm #4).
const CONFIG_REQUEST = /^Sending manager request \((\S+\/agent_config)\)$/;

export function parseKasmAgentLog(lines: readonly string[]): KasmAgentLog {
  const log: KasmAgentLog = { starts: 0, stops: [], problems: [], configAnswers: [], lines: lines.length };
  let traceback: AgentStop | null = null;
  let request: { url: string; line: string } | null = null;
  for (const raw of lines) {
    const line = raw.trimEnd();
    const handler = HANDLER.exec(line);
    if (handler) {
      const message = handler[1]!.trim();
      if (request) log.configAnswers.push({ url: request.url, answer: message, lines: [request.line, line] });
      const asked = CONFIG_REQUEST.exec(message);
      request = asked ? { url: asked[1]!, line } : null;
    }
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
