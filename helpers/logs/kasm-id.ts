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
