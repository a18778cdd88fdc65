// Which SSH command lines the lab may run without a shell. Bash does nothing with `sudo -n docker ps -a --format
// '{{json .}}'` but split it into words, yet a bash and a Node start per command cost the lab more CPU than the
// suite's own work on a small machine, and every host of the lab shares that machine. So a line made only of plain
// and quoted words (and an optional trailing `2>&1`) whose program is a host stand-in runs in the lab's process;
// anything a shell would expand, pipe or redirect otherwise still goes to bash, and bash's answer is the reference.

export interface PlainCommand {
  argv: string[];
  /** The line ended in `2>&1`: the command's stderr goes where its stdout goes. */
  stderrToStdout: boolean;
}

/** Characters bash takes literally outside quotes (no globbing, expansion, operators, comments or escapes). */
const LITERAL = /[A-Za-z0-9_@%+=:,./-]/;
/** Inside double quotes bash still expands `$`, `` ` ``, and treats `\` (and interactively `!`) specially. */
const EXPANDS_IN_DOUBLE_QUOTES = /[$`\\!]/;
const STDERR_TO_STDOUT = /[ \t]+2>&1[ \t]*$/;

/** The words of `line` as bash would pass them to the program, or undefined when bash would do more than split it. */
export function plainCommand(line: string): PlainCommand | undefined {
  const stderrToStdout = STDERR_TO_STDOUT.test(line);
  const text = line.replace(STDERR_TO_STDOUT, '');
  const argv: string[] = [];
  let i = 0;
  while (i < text.length) {
    if (text[i] === ' ' || text[i] === '\t') {
      i++;
      continue;
    }
    let word = '';
    while (i < text.length && text[i] !== ' ' && text[i] !== '\t') {
      const c = text[i]!;
      if (c === "'" || c === '"') {
        const end = text.indexOf(c, i + 1);
        if (end < 0) return undefined;
        const quoted = text.slice(i + 1, end);
        if (c === '"' && EXPANDS_IN_DOUBLE_QUOTES.test(quoted)) return undefined;
        word += quoted;
        i = end + 1;
      } else if (LITERAL.test(c)) {
        word += c;
        i++;
      } else {
        return undefined;
      }
    }
    argv.push(word);
  }
  return argv.length > 0 ? { argv, stderrToStdout } : undefined;
}
