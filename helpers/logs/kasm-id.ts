// Kasm ids appear dashed in URLs (`/desktop/5005adab-5fa1-.../vnc/`) and as 32 bare hex digits in API bodies and
// container names; both name the same session.

// Bounded by non-hex so a 64-hex container id or a digest never yields a fake kasm id.
const KASM_ID = /(?<![0-9a-fA-F-])(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})(?![0-9a-fA-F-])/g;

/** Dashed lowercase form of a kasm id given dashed or as 32 hex digits; null for anything else. */
export function normaliseKasmId(id: string): string | null {
  const hex = id.replaceAll('-', '').toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(hex) || (id.includes('-') && !/^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$/.test(id))) return null;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Every kasm-id-shaped value in the text, dashed lowercase, first occurrence first. User, image and zone ids are UUIDs
 * too, so the caller decides by context (a `/desktop/<id>/` path is always a kasm id).
 */
export function kasmIdsInText(text: string): string[] {
  const ids = [...text.matchAll(KASM_ID)].map((m) => normaliseKasmId(m[0])).filter((id): id is string => id !== null);
  return [...new Set(ids)];
}

const USER_NAMED = /\buser(?:name)?\b\s*(?::\s*)?[(=:]\s*\(?([^\s()"',;]+)/gi;

export interface OwnSession {
  /** The run's own ids: its session's, its user's and its workspace's. */
  ids: string[];
  /** The synthetic user's name. */
  user?: string;
}

/** Whether a line names a kasm-id-shaped value other than the run's own ids, or a user other than the synthetic one. */
export function namesOtherSession(line: string, own: OwnSession): boolean {
  const ids = new Set(own.ids.map((id) => normaliseKasmId(id)).filter((id): id is string => id !== null));
  const user = own.user?.toLowerCase();
  if (kasmIdsInText(line).some((id) => !ids.has(id))) return true;
  // `user=<user id>` in a URL names the user by id: ours when it is one of the run's ids.
  return [...line.matchAll(USER_NAMED)].some((m) => m[1]!.toLowerCase() !== user && !ids.has(normaliseKasmId(m[1]!) ?? ''));
}

/**
 * A log as a transcript may keep it (issue 14: other users' data): a line that names another session or user
 * (namesOtherSession) is left out and counted; lines that continue an entry (a traceback) go with it. What the
 * checks judge is the whole log.
 */
export function maskOtherSessions(text: string, own: OwnSession): string {
  let masked = 0;
  let dropping = false;
  const kept = text.split('\n').filter((line) => {
    // A traceback's lines continue the entry above; KasmVNC's own lines start with a space and a date of their own.
    if ((/^\s+\S/.test(line) && !/^\s*\d{4}-\d\d-\d\d[ T]/.test(line)) || /^Traceback \(most recent call last\)/.test(line)) {
      if (dropping) masked++;
      return !dropping;
    }
    dropping = namesOtherSession(line, own);
    if (dropping) masked++;
    return !dropping;
  });
  if (masked) kept.push(`[${masked} line${masked === 1 ? '' : 's'} of other users' sessions left out of this transcript]`);
  return kept.join('\n');
}
