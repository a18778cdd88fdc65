// The subset of Go's text/template that `docker ps --format` and `docker inspect --format` are used with in practice:
// fields (`{{.State.Health.Status}}`), `json`, `index`, `join`, `upper`, `lower`, `println`, `range ... end`, plus the
// `.Label "key"` method of docker ps. Output and error texts follow what the docker CLI prints.
import { goJson } from './docker-format.ts';

export class TemplateError extends Error {
  readonly code = 'LAB_TEMPLATE';
}

export interface TemplateOptions {
  /** Error text when a field is missing, as the real context type reports it. */
  missingField(expression: string, key: string, column: number): string;
  /** Methods callable with string arguments, like docker ps's `.Label "com.docker.compose.project"`. */
  methods?: Record<string, (...args: string[]) => unknown>;
}

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; words: string[]; column: number }
  | { kind: 'range'; words: string[]; column: number; body: Node[] };

const ACTION = /\{\{(-?)\s*(.*?)\s*(-?)\}\}/gs;

function tokenize(source: string): Array<{ text: string } | { words: string[]; column: number; trimLeft: boolean; trimRight: boolean }> {
  const tokens: Array<{ text: string } | { words: string[]; column: number; trimLeft: boolean; trimRight: boolean }> = [];
  let last = 0;
  for (const match of source.matchAll(ACTION)) {
    const at = match.index;
    if (at > last) tokens.push({ text: source.slice(last, at) });
    const body = match[2] ?? '';
    tokens.push({ words: splitWords(body), column: at + match[0].indexOf(body), trimLeft: match[1] === '-', trimRight: match[3] === '-' });
    last = at + match[0].length;
  }
  if (last < source.length) tokens.push({ text: source.slice(last) });
  return tokens;
}

function splitWords(action: string): string[] {
  return [...action.matchAll(/"(?:[^"\\]|\\.)*"|`[^`]*`|\S+/g)].map((m) => m[0]);
}

function parse(source: string): Node[] {
  const tokens = tokenize(source);
  for (const [i, token] of tokens.entries()) {
    if ('words' in token) {
      const before = tokens[i - 1];
      const after = tokens[i + 1];
      if (token.trimLeft && before && 'text' in before) before.text = before.text.trimEnd();
      if (token.trimRight && after && 'text' in after) after.text = after.text.trimStart();
    }
  }
  let position = 0;
  const block = (inRange: boolean): Node[] => {
    const nodes: Node[] = [];
    while (position < tokens.length) {
      const token = tokens[position++]!;
      if ('text' in token) {
        nodes.push({ kind: 'text', text: token.text });
      } else if (token.words[0] === 'end') {
        if (!inRange) throw new TemplateError(`template: :1: unexpected {{end}}`);
        return nodes;
      } else if (token.words[0] === 'range') {
        nodes.push({ kind: 'range', words: token.words.slice(1), column: token.column, body: block(true) });
      } else {
        nodes.push({ kind: 'action', words: token.words, column: token.column });
      }
    }
    if (inRange) throw new TemplateError('template: :1: unexpected EOF');
    return nodes;
  };
  return block(false);
}

/** Go's fmt %v of a decoded JSON value, which is what `{{.Field}}` prints. */
export function goPrint(value: unknown): string {
  if (value === null || value === undefined) return '<no value>';
  if (Array.isArray(value)) return `[${value.map(goPrint).join(' ')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `map[${entries.map(([k, v]) => `${k}:${goPrint(v)}`).join(' ')}]`;
  }
  return String(value);
}

function unquote(word: string): string | undefined {
  if (word.startsWith('`') && word.endsWith('`')) return word.slice(1, -1);
  if (word.startsWith('"') && word.endsWith('"')) return JSON.parse(word) as string;
  return undefined;
}

class Renderer {
  constructor(
    private readonly root: unknown,
    private readonly options: TemplateOptions,
  ) {}

  render(nodes: Node[], dot: unknown): string {
    return nodes.map((node) => this.node(node, dot)).join('');
  }

  private node(node: Node, dot: unknown): string {
    if (node.kind === 'text') return node.text;
    if (node.kind === 'range') return this.range(node, dot);
    return this.action(node.words, node.column, dot);
  }

  private range(node: Extract<Node, { kind: 'range' }>, dot: unknown): string {
    const target = this.argument(node.words[0] ?? '.', node.column, dot);
    if (target === null || target === undefined) return '';
    const items = Array.isArray(target)
      ? target
      : typeof target === 'object'
        ? Object.keys(target as object)
            .sort()
            .map((k) => (target as Record<string, unknown>)[k])
        : null;
    if (items === null) throw new TemplateError(`template: :1:${node.column}: range can't iterate over ${goPrint(target)}`);
    return items.map((item) => this.render(node.body, item)).join('');
  }

  private action(words: string[], column: number, dot: unknown): string {
    const [head = '', ...args] = words;
    const arg = (i: number) => this.argument(args[i] ?? '.', column, dot);
    switch (head) {
      case 'json':
        return goJson(arg(0));
      case 'upper':
        return goPrint(arg(0)).toUpperCase();
      case 'lower':
        return goPrint(arg(0)).toLowerCase();
      case 'println':
        return `${args.length ? goPrint(arg(0)) : ''}\n`;
      case 'index':
        return goPrint(this.index(arg(0), args.slice(1)));
      case 'join': {
        const list = arg(0);
        return Array.isArray(list) ? list.map(goPrint).join(unquote(args[1] ?? '""') ?? '') : goPrint(list);
      }
      default:
        return this.method(head, args, column, dot);
    }
  }

  private method(head: string, args: string[], column: number, dot: unknown): string {
    const method = head.startsWith('.') ? this.options.methods?.[head.slice(1)] : undefined;
    if (method) return goPrint(method(...args.map((a) => unquote(a) ?? a)));
    if (!head.startsWith('.') && head !== '$') throw new TemplateError(`template: :1: function "${head}" not defined`);
    return goPrint(this.argument(head, column, dot));
  }

  private index(target: unknown, keys: string[]): unknown {
    let value = target;
    for (const key of keys) {
      const k = unquote(key) ?? key;
      if (Array.isArray(value)) value = value[Number(k)];
      else if (value && typeof value === 'object') value = (value as Record<string, unknown>)[k];
      else return undefined;
    }
    return value;
  }

  private argument(word: string, column: number, dot: unknown): unknown {
    const literal = unquote(word);
    if (literal !== undefined) return literal;
    if (word === '.') return dot;
    const base = word.startsWith('$') ? this.root : dot;
    const path = word.replace(/^\$/, '').split('.').filter(Boolean);
    let value = base;
    for (const key of path) {
      if (value === null || value === undefined || typeof value !== 'object' || Array.isArray(value) || !(key in value)) {
        throw new TemplateError(this.options.missingField(word, key, column));
      }
      value = (value as Record<string, unknown>)[key];
    }
    return value;
  }
}

export interface CompiledTemplate {
  render(data: unknown): string;
}

export function compileTemplate(source: string, options: TemplateOptions): CompiledTemplate {
  const nodes = parse(source);
  return { render: (data: unknown) => new Renderer(data, options).render(nodes, data) };
}
