// The verdict of api.health: kasm_api's /api/__healthcheck through the client-facing URL, from the answer the spec
// got. Evidence in, one verdict out.
import { describeAnswer } from '../http-answer.ts';
import type { Verdict } from './verdict.ts';

export interface ApiHealthEvidence {
  status: number;
  /** The body as text, and parsed when it was JSON. */
  text: string;
  body: unknown;
  server?: string | string[];
  ms: number;
}

export function judgeApiHealth(e: ApiHealthEvidence): Verdict {
  const answer = describeAnswer(e.status, e.text, e.server);
  if (e.status >= 502 && e.status <= 504) return { status: 'fail', summary: `/api/__healthcheck answered ${answer}: kasm_api is down or kasm_proxy cannot reach it` };
  const ok = typeof e.body === 'object' && e.body !== null && !Array.isArray(e.body) && (e.body as { ok?: unknown }).ok === true && Object.keys(e.body).length === 1;
  if (e.status !== 200 || !ok) return { status: 'fail', summary: `/api/__healthcheck answered ${answer}, expected HTTP 200 {"ok": true}` };
  return { status: 'pass', summary: `/api/__healthcheck answered {"ok": true} in ${Math.round(e.ms)} ms` };
}
