// One-line forms of findings' summaries, for lists where each entry must stay on one line (blocked checks).
export const ONE_LINE_MAX = 200;

/** Text without the ANSI colour codes Playwright puts in its matcher messages. */
export const plainText = (text: string) => text.replace(/\u001b\[[0-9;]*m/g, '');

/** `1 warning`, `2 warnings`; `many` for irregular plurals. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function oneLine(text: string, max = ONE_LINE_MAX): string {
  const line = text.split('\n')[0]?.trim() ?? '';
  return line.length > max ? `${line.slice(0, max - 1).trimEnd()}…` : line;
}
