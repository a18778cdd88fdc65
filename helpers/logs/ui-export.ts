// The Kasm UI's log export (Admin > Diagnostics > Logging, downloaded or copied): records with host, ingest_date
// (`20250916160650`), application, levelname, process and message, pretty-printed as a JSON array or copied from the
// table as `key: value` lines. A traceback travels inside `message`.

export interface UiLogRecord {
  fields: Record<string, string>;
  /** The record's lines as pasted, for evidence: its message first. */
  lines: string[];
}

const KEYS = ['host', 'ingest_date', 'application', 'levelname', 'funcname', 'kasm_user_name', 'message', 'traceback', 'error_stack', 'process', 'client_ip', 'user_agent', 'allow', 'url', 'site', 'domain', 'category'];
const KEY = new RegExp(`^\\s*"?(${KEYS.join('|')})"?\\s*:\\s?(.*)$`);
const BARE_KEY = new RegExp(`^\\s*(${KEYS.join('|')})\\s*$`);
const BRACKET = /^\s*[[\]{}],?\s*$/;

/** A line of an export: a known field, a bracket of the JSON form, or a key on its own line (the table's form). */
export const isUiExportLine = (line: string): boolean => KEY.test(line) || BRACKET.test(line) || BARE_KEY.test(line);

function value(raw: string): string {
  const text = raw.trim().replace(/,$/, '');
  if (text.startsWith('"')) {
    try {
      return String(JSON.parse(text));
    } catch {
      return text.slice(1, text.endsWith('"') ? -1 : undefined);
    }
  }
  return text === 'null' ? '' : text;
}

export function parseUiExport(lines: readonly string[]): UiLogRecord[] {
  const records: UiLogRecord[] = [];
  let current: UiLogRecord | null = null;
  let pendingKey: string | null = null;
  const start = () => {
    current = { fields: {}, lines: [] };
    records.push(current);
    return current;
  };
  for (const line of lines) {
    if (/^\s*\{\s*$/.test(line)) {
      start();
      continue;
    }
    if (BRACKET.test(line)) continue;
    const bare = BARE_KEY.exec(line);
    if (bare) {
      pendingKey = bare[1]!;
      continue;
    }
    const m = KEY.exec(line);
    const record: UiLogRecord = current ?? start();
    if (m) {
      // The table's form has no brackets: a second `host` starts the next record.
      if (m[1] === 'host' && record.fields.host !== undefined) {
        const next = start();
        next.fields.host = value(m[2] ?? '');
        next.lines.push(line);
        continue;
      }
      record.fields[m[1]!] ??= value(m[2] ?? '');
      record.lines.push(line);
      pendingKey = null;
    } else if (pendingKey) {
      // The table's form puts a key on its own line and its text under it, a traceback over several lines.
      record.fields[pendingKey] = record.fields[pendingKey] === undefined ? line.trim() : `${record.fields[pendingKey]}\n${line.trimEnd()}`;
      record.lines.push(line);
    }
  }
  return records.filter((r) => Object.keys(r.fields).length > 1);
}
