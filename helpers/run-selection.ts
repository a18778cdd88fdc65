// Whether `playwright test` was asked for every check, read from its command line: a full run can start observing
// the run's session before the workers are up, while a filtered one (a grep, a file, a project, a shard) may not need
// a session at all. Anything unclear counts as filtered: the session is then observed when a check first asks.

/** Options that take their value as the next argument (`--reporter list`). */
const VALUED = new Set(['--reporter', '--workers', '-j', '--retries', '--timeout', '--max-failures', '--output', '--config', '-c', '--trace', '--global-timeout', '--repeat-each', '--tsconfig', '--project', '--grep', '-g', '--grep-invert', '--shard', '--test-list', '--test-list-invert', '--ui-host', '--ui-port']);
/** Options that select fewer tests than all of them. */
const FILTERS = new Set(['--grep', '-g', '--grep-invert', '--project', '--shard', '--last-failed', '--only-changed', '--list', '--test-list', '--test-list-invert', '--ui']);

export function selectsEveryTest(argv: readonly string[]): boolean {
  const start = argv.indexOf('test');
  if (start === -1) return false;
  const args = argv.slice(start + 1);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const name = arg.split('=')[0]!;
    if (FILTERS.has(name)) return false;
    if (!arg.startsWith('-')) return false;
    if (VALUED.has(name) && !arg.includes('=')) i++;
  }
  return true;
}
