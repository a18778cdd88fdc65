// The benchmark's arithmetic: each figure is a ratio of two timings taken in the same repetition, reported as the
// median of the repetitions with their min and max, and judged against its target.

export interface FigureSpec {
  name: string;
  /** What is divided by what, for the table. */
  what: string;
  target: number;
  /** Peak memory limit of the runner's Node processes, in MiB, for figures that also judge memory. */
  memoryLimitMb?: number;
}

export interface Pair {
  numeratorMs: number;
  denominatorMs: number;
  /** Peak memory of the two runs, MiB (null where it could not be read). */
  peakMb?: [number | null, number | null];
}

export interface Figure extends FigureSpec {
  median: number;
  min: number;
  max: number;
  ratios: number[];
  numeratorMs: number[];
  denominatorMs: number[];
  peakMb?: number | null;
  met: boolean;
  /** Why the figure is not met, in words. */
  missed?: string;
}

export function median(values: number[]): number {
  if (!values.length) throw new RangeError('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const round = (value: number, places = 3) => Math.round(value * 10 ** places) / 10 ** places;

export function figure(spec: FigureSpec, pairs: Pair[]): Figure {
  const ratios = pairs.map((p) => p.numeratorMs / p.denominatorMs);
  const peaks = pairs.flatMap((p) => p.peakMb ?? []).filter((mb): mb is number => mb !== null);
  const peakMb = spec.memoryLimitMb === undefined ? undefined : peaks.length ? round(Math.max(...peaks), 1) : null;
  const result: Figure = {
    ...spec,
    median: round(median(ratios)),
    min: round(Math.min(...ratios)),
    max: round(Math.max(...ratios)),
    ratios: ratios.map((r) => round(r)),
    numeratorMs: pairs.map((p) => Math.round(p.numeratorMs)),
    denominatorMs: pairs.map((p) => Math.round(p.denominatorMs)),
    ...(peakMb !== undefined ? { peakMb } : {}),
    met: true,
  };
  const missed: string[] = [];
  if (result.median > spec.target) missed.push(`median ${result.median} is above the target ${spec.target}`);
  if (spec.memoryLimitMb !== undefined) {
    if (peakMb === null) missed.push('peak memory could not be read (no /proc)');
    else if (peakMb !== undefined && peakMb >= spec.memoryLimitMb) missed.push(`peak memory ${peakMb} MiB is not under ${spec.memoryLimitMb} MiB`);
  }
  if (missed.length) Object.assign(result, { met: false, missed: missed.join('; ') });
  return result;
}

export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export function table(figures: Figure[]): string {
  const rows = [['figure', 'median', 'min', 'max', 'target', 'met', 'medians (numerator / denominator)']];
  for (const f of figures) {
    const memory = f.memoryLimitMb === undefined ? '' : `; peak ${f.peakMb ?? '?'} MiB (< ${f.memoryLimitMb})`;
    rows.push([f.name, f.median.toFixed(2), f.min.toFixed(2), f.max.toFixed(2), `<= ${f.target}`, f.met ? 'yes' : 'NO', `${seconds(median(f.numeratorMs))} / ${seconds(median(f.denominatorMs))}${memory}`]);
  }
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ')).join('\n');
}
