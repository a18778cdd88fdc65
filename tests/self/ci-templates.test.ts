// The CI templates (ci/github, ci/gitlab) and the Dockerfile, checked against the repository: they parse, every npm
// script and repository path they use exists, reports are kept when a check fails, secrets stay out of scripts and
// logs, mutations are manual-only, and the pinned Playwright image is the installed @playwright/test's version.
// Nothing is built or run: there is no Docker engine or CI runner here, only the files' text.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { parseDocument } from 'yaml';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');

const GITHUB = 'ci/github/kasm-synthetics.yml';
const GITLAB = 'ci/gitlab/kasm-synthetics.gitlab-ci.yml';
const DOCKERFILE = 'Dockerfile';
const DOCKERIGNORE = '.dockerignore';
const CI_README = 'ci/README.md';

/** Read at run time: the templates must only use scripts package.json has now. */
const packageJson = JSON.parse(read('package.json')) as { scripts?: Record<string, string> };
const scripts = packageJson.scripts ?? {};
const playwrightVersion = (JSON.parse(read('node_modules/@playwright/test/package.json')) as { version: string }).version;

/** Folders and files a run creates; the templates may name them before they exist. */
const RUNTIME = new Set(['reports', 'all-blob-reports', 'shards', 'test-results', 'blob-report', '.kasm-state', '.npm', '.kasm-ci.env', '.kasm-known-hosts']);

/** The suite's secrets, and the CI-only SSH key variable: never printed, never in an image or a YAML variable. */
const SECRET_NAMES = ['KASM_API_SECRET', 'KASM_USER_PASSWORD', 'KASM_SSH_PASSPHRASE', 'KASM_SSH_KEY'];

type Node = Record<string, unknown>;

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function node(value: unknown, what: string): Node {
  assert.ok(isNode(value), `${what} is not a mapping: ${JSON.stringify(value)}`);
  return value;
}

function list(value: unknown, what: string): unknown[] {
  assert.ok(Array.isArray(value), `${what} is not a list: ${JSON.stringify(value)}`);
  return value;
}

function text(value: unknown, what: string): string {
  assert.equal(typeof value, 'string', `${what} is not a string: ${JSON.stringify(value)}`);
  return value as string;
}

/** Parses strictly: any YAML error or warning (unknown tag, duplicate key) fails. */
function parseYaml(path: string): Node {
  const document = parseDocument(read(path), { prettyErrors: true, uniqueKeys: true });
  assert.deepEqual(document.errors.map(String), [], `${path} has YAML errors`);
  assert.deepEqual(document.warnings.map(String), [], `${path} has YAML warnings`);
  return node(document.toJS(), path);
}

/** Every string value of a parsed template with its key path, skipping keys that hold prose or foreign references. */
function strings(value: unknown, skipKeys: ReadonlySet<string>, path: string[] = []): { path: string[]; value: string }[] {
  if (typeof value === 'string') return [{ path, value }];
  if (Array.isArray(value)) return value.flatMap((item, index) => strings(item, skipKeys, [...path, String(index)]));
  if (isNode(value)) return Object.entries(value).flatMap(([key, item]) => (skipKeys.has(key) ? [] : strings(item, skipKeys, [...path, key])));
  return [];
}

// A repository path: a word with at least one slash (`reports/`, `shards/*`), or a file name with a known extension.
// Paths that start with `/`, `~`, `$VAR` or `${...}` are outside the repository and not matched.
const PATH_TOKEN =
  /(?<![\w$}/.~*%-])(?:\.\/)?(?:[.\w-][\w.-]*\/)+[\w.*-]*|(?<![\w$}/.~*%-])[.\w*-][\w.*-]*\.(?:ts|mts|mjs|cjs|js|json|env|xml|md|ya?ml|zip)\b/g;

function pathTokens(source: string): string[] {
  // Shell comment lines inside scripts are prose ("CI/CD variables"), URLs are not repository paths.
  const code = source.split('\n').filter((line) => !/^\s*#/.test(line)).join('\n');
  // URLs are not repository paths, nor are sed programs ('s/<<$//').
  const withoutUrls = code.replace(/[a-z]+:\/\/\S+/g, ' ').replace(/sed\s+(?:-\w+\s+)*'[^']*'/g, ' ');
  return [...withoutUrls.matchAll(PATH_TOKEN)].map((m) => m[0].replace(/^\.\//, ''));
}

/** Why a path named by a template is not usable, or undefined when it exists (or is made at run time). */
function missing(token: string): string | undefined {
  const segments = token.split('/').filter(Boolean);
  const first = segments[0] ?? '';
  if (RUNTIME.has(first)) return undefined;
  const glob = segments.findIndex((s) => s.includes('*'));
  if (glob === -1) return existsSync(join(root, token)) ? undefined : `${token} does not exist`;
  const dir = join(root, ...segments.slice(0, glob));
  if (!existsSync(dir)) return `${token}: ${segments.slice(0, glob).join('/') || '.'} does not exist`;
  const pattern = new RegExp(`^${segments[glob]!.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
  return readdirSync(dir).some((entry) => pattern.test(entry)) ? undefined : `${token} matches nothing`;
}

// Instructions of a Dockerfile: comments dropped, continuation lines joined.
interface Instruction {
  keyword: string;
  args: string;
}

function dockerInstructions(source: string): Instruction[] {
  const lines = source.split('\n').filter((line) => !/^\s*#/.test(line));
  const joined = lines.join('\n').replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const match = /^(\w+)\s+(.*)$/.exec(line);
      assert.ok(match, `Dockerfile line is not an instruction: ${line}`);
      return { keyword: match[1]!.toUpperCase(), args: match[2]!.replace(/\s+/g, ' ') };
    });
}

const github = parseYaml(GITHUB);
const gitlab = parseYaml(GITLAB);
const docker = dockerInstructions(read(DOCKERFILE));

// GitHub: jobs and steps.
const jobs = node(github.jobs, 'jobs');
const checkJob = node(jobs.check, 'jobs.check');
const mergeJob = node(jobs.merge, 'jobs.merge');
const stepsOf = (job: Node, name: string) => list(job.steps, `${name}.steps`).map((s, i) => node(s, `${name}.steps[${i}]`));
const checkSteps = stepsOf(checkJob, 'check');
const mergeSteps = stepsOf(mergeJob, 'merge');
const allSteps = [...checkSteps, ...mergeSteps];
const runOf = (step: Node) => (typeof step.run === 'string' ? step.run : '');
const usesOf = (step: Node) => (typeof step.uses === 'string' ? step.uses : '');
const stepRunning = (steps: Node[], command: string) => {
  const found = steps.filter((s) => runOf(s).includes(command));
  assert.equal(found.length, 1, `expected exactly one step running ${JSON.stringify(command)}, found ${found.length}`);
  return found[0]!;
};

// GitLab: jobs with `extends` resolved (mappings merge deeply, lists and scalars are replaced, as GitLab does).
function merge(base: Node, over: Node): Node {
  const out: Node = { ...base };
  for (const [key, value] of Object.entries(over)) out[key] = isNode(value) && isNode(out[key]) ? merge(out[key] as Node, value) : value;
  return out;
}

function gitlabJob(name: string): Node {
  const raw = node(gitlab[name], `GitLab job ${name}`);
  const parents = raw.extends === undefined ? [] : Array.isArray(raw.extends) ? raw.extends : [raw.extends];
  let resolved: Node = {};
  for (const parent of parents) resolved = merge(resolved, gitlabJob(text(parent, `${name}.extends`)));
  const { extends: _extends, ...own } = raw;
  return merge(resolved, own);
}

const script = (job: Node, key = 'script') => list(job[key], key).map((line) => text(line, key)).join('\n');
const GITLAB_JOBS = ['kasm-synthetics:check', 'kasm-synthetics:check-mutating', 'kasm-synthetics:report'];

describe('CI templates: they parse', () => {
  it('the GitHub workflow and the GitLab template are valid YAML without warnings', () => {
    // parseYaml ran at load time; this names the result.
    assert.deepEqual(Object.keys(github).sort(), ['concurrency', 'defaults', 'jobs', 'name', 'on', 'permissions']);
    assert.deepEqual(Object.keys(jobs), ['check', 'merge']);
    const visible = Object.keys(gitlab).filter((key) => !key.startsWith('.'));
    assert.deepEqual(visible, ['stages', 'variables', ...GITLAB_JOBS]);
  });

  it('every script line is a string (an unquoted "word: text" would turn a command into a mapping)', () => {
    for (const [name, job] of Object.entries(gitlab)) {
      if (!isNode(job)) continue;
      for (const key of ['before_script', 'script', 'after_script']) {
        if (job[key] !== undefined) for (const [i, line] of list(job[key], `${name}.${key}`).entries()) text(line, `${name}.${key}[${i}]`);
      }
    }
    for (const step of allSteps) if (step.run !== undefined) text(step.run, `run of ${String(step.name)}`);
  });
});

describe('CI templates: references into the repository', () => {
  it('every npm script they run exists in package.json (read now)', () => {
    const sources = [GITHUB, GITLAB, DOCKERFILE, CI_README];
    const used = new Map<string, Set<string>>();
    const note = (name: string, file: string) => used.set(name, (used.get(name) ?? new Set()).add(file));
    for (const file of sources) {
      const source = read(file);
      for (const m of source.matchAll(/\bnpm\s+run\s+([A-Za-z0-9:_-]+)/g)) note(m[1]!, file);
      // npm test / npm t / npm start are scripts too; npm ci is npm's own command (asserted below).
      for (const m of source.matchAll(/\bnpm\s+(test|t|start|stop|restart)\b/g)) note(m[1] === 't' ? 'test' : m[1]!, file);
    }
    // The image's ENTRYPOINT npm run + CMD <script>.
    const entrypoint = docker.filter((i) => i.keyword === 'ENTRYPOINT').at(-1);
    const cmd = docker.filter((i) => i.keyword === 'CMD').at(-1);
    assert.deepEqual(JSON.parse(entrypoint?.args ?? 'null'), ['npm', 'run']);
    const defaultScript = (JSON.parse(cmd?.args ?? '[]') as string[])[0];
    assert.equal(defaultScript, 'check');
    note(defaultScript, DOCKERFILE);
    // The scripts the brief requires are really used, so the scan above is not vacuous.
    for (const needed of ['check', 'report']) assert.ok(used.has(needed), `no template runs npm run ${needed}`);
    const absent = [...used].filter(([name]) => !(name in scripts)).map(([name, files]) => `npm run ${name} (in ${[...files].join(', ')})`);
    assert.deepEqual(absent, [], `package.json has no such script: ${absent.join('; ')}`);
  });

  it('every npx command is a binary installed in node_modules/.bin', () => {
    for (const file of [GITHUB, GITLAB, DOCKERFILE, CI_README]) {
      for (const m of read(file).matchAll(/\bnpx\s+([a-z@][\w@/.-]*)/g)) {
        assert.ok(existsSync(join(root, 'node_modules/.bin', m[1]!)), `${file}: npx ${m[1]} is not installed`);
      }
    }
  });

  it('every repository path they name exists, or is written at run time (reports/, all-blob-reports/, ...)', () => {
    // Prose (names, descriptions), action references (uses:) and images (image:) are not paths in this repository.
    const skip = new Set(['name', 'description', 'uses', 'image', 'cron', 'options', 'if']);
    const tokens = new Map<string, Set<string>>();
    const note = (token: string, file: string) => tokens.set(token, (tokens.get(token) ?? new Set()).add(file));
    for (const [file, parsed] of [[GITHUB, github], [GITLAB, gitlab]] as const) {
      for (const { value } of strings(parsed, skip)) for (const token of pathTokens(value)) note(token, file);
    }
    for (const instruction of docker) for (const token of pathTokens(instruction.args)) note(token, DOCKERFILE);
    const found = [...tokens.keys()];
    for (const expected of ['playwright.merge.config.ts', 'package-lock.json', 'environments/', 'reports/', 'reports/junit.xml', 'reports/diagnosis.md', 'shards/*', 'reports/blob-report/*.zip']) {
      assert.ok(found.includes(expected), `the scan did not see ${expected} (saw ${found.join(', ')})`);
    }
    const problems = [...tokens].flatMap(([token, files]) => {
      const why = missing(token);
      return why ? [`${why} (named in ${[...files].join(', ')})`] : [];
    });
    assert.deepEqual(problems, [], problems.join('; '));
  });

  it('the pinned Playwright image is the installed @playwright/test version, wherever it is named', () => {
    const base = gitlabJob('.kasm-synthetics:base');
    assert.equal(base.image, `mcr.microsoft.com/playwright:v${playwrightVersion}-jammy`);
    for (const file of [GITHUB, GITLAB, DOCKERFILE, CI_README]) {
      for (const m of read(file).matchAll(/mcr\.microsoft\.com\/playwright:v(\d+(?:\.\d+)*)/g)) {
        assert.equal(m[1], playwrightVersion, `${file} pins Playwright image ${m[0]}, installed @playwright/test is ${playwrightVersion}`);
      }
    }
  });
});

describe('GitHub workflow', () => {
  it('runs on a schedule and by hand, with environment, grep and allow_mutations (default false) inputs', () => {
    const on = node(github.on, 'on');
    assert.deepEqual(Object.keys(on).sort(), ['schedule', 'workflow_dispatch']);
    const schedule = list(on.schedule, 'on.schedule').map((s) => node(s, 'schedule entry'));
    assert.equal(schedule.length, 1);
    assert.match(text(schedule[0]!.cron, 'cron'), /^\S+ \S+ \S+ \S+ \S+$/);
    const inputs = node(node(on.workflow_dispatch, 'workflow_dispatch').inputs, 'inputs');
    assert.deepEqual(Object.keys(inputs), ['environment', 'grep', 'allow_mutations']);
    assert.equal(node(inputs.environment, 'environment').type, 'string');
    assert.equal(node(inputs.environment, 'environment').default, 'staging');
    assert.equal(node(inputs.grep, 'grep').type, 'string');
    assert.equal(node(inputs.allow_mutations, 'allow_mutations').type, 'boolean');
    assert.equal(node(inputs.allow_mutations, 'allow_mutations').default, false);
    assert.deepEqual(github.permissions, { contents: 'read' });
  });

  it('installs like the README says and runs npm run check sharded, in the environment holding the secrets', () => {
    assert.equal(checkJob.environment, "${{ inputs.environment || 'staging' }}");
    const env = node(checkJob.env, 'check.env');
    assert.equal(env.KASM_ENV, "${{ inputs.environment || 'staging' }}");
    assert.ok(allSteps.some((s) => usesOf(s) === 'actions/checkout@v4'));
    const setupNode = checkSteps.find((s) => usesOf(s) === 'actions/setup-node@v4');
    assert.deepEqual(setupNode?.with, { 'node-version': 20, cache: 'npm' });
    assert.equal(runOf(stepRunning(checkSteps, 'npm ci')).trim(), 'npm ci --no-audit --no-fund');
    assert.equal(runOf(stepRunning(checkSteps, 'npx playwright install')).trim(), 'npx playwright install --with-deps chromium');
    const run = runOf(stepRunning(checkSteps, 'npm run check'));
    assert.ok(run.includes('args=("--shard=${{ matrix.shard }}/${{ strategy.job-total }}")'), run);
    assert.ok(run.includes('npm run check -- "${args[@]}" || code=$?'), run);
    assert.ok(run.includes('exit "$code"'), 'the step must end with npm run check\'s exit code (1 and 2 fail the job)');
  });

  it('shards in a matrix that lets every shard finish, and a mutating run is one shard', () => {
    const strategy = node(checkJob.strategy, 'strategy');
    assert.equal(strategy['fail-fast'], false);
    const shard = text(node(strategy.matrix, 'matrix').shard, 'matrix.shard');
    const m = /^\$\{\{ fromJSON\(inputs\.allow_mutations && '\[1\]' \|\| '(\[[\d, ]+\])'\) \}\}$/.exec(shard);
    assert.ok(m, `matrix.shard: ${shard}`);
    const shards = JSON.parse(m[1]!) as number[];
    assert.ok(shards.length >= 2, 'schedule runs are sharded');
    assert.deepEqual(shards, shards.map((_, i) => i + 1));
  });

  it('fails on exit 1 and 2: no step or job swallows a failure', () => {
    for (const [name, job] of [['check', checkJob], ['merge', mergeJob]] as const) {
      assert.equal(job['continue-on-error'], undefined, `${name} has continue-on-error`);
      for (const step of stepsOf(job, name)) assert.equal(step['continue-on-error'], undefined, `${name}: ${String(step.name)} has continue-on-error`);
    }
    const verdict = mergeSteps.at(-1)!;
    assert.equal(node(verdict.env, 'verdict env').SHARDS, '${{ needs.check.result }}');
    assert.equal(runOf(verdict).trim().split('\n').at(-1), '[ "$SHARDS" = success ]');
  });

  it('uploads reports with if: always(), each shard under its own name, and the merge job downloads them all', () => {
    const uploads = allSteps.filter((s) => usesOf(s).startsWith('actions/upload-artifact@'));
    assert.equal(uploads.length, 2);
    assert.ok(!uploads.some((u) => JSON.stringify(u.with).includes('.kasm-state')), 'restore files are never uploaded');
    const restore = allSteps.find((s) => runOf(s).trim() === 'npm run restore');
    assert.match(text(restore?.if, 'if of the restore step'), /^always\(\) && env\.KASM_ALLOW_MUTATIONS == 'true'$/);
    for (const upload of uploads) assert.match(text(upload.if, `if of ${String(upload.name)}`), /^always\(\)/);
    const shardUpload = node(uploads[0]!.with, 'shard upload');
    assert.equal(shardUpload.name, 'kasm-synthetics-shard-${{ matrix.shard }}');
    assert.equal(shardUpload.path, 'reports/');
    const download = mergeSteps.find((s) => usesOf(s) === 'actions/download-artifact@v4');
    assert.deepEqual(download?.with, { pattern: 'kasm-synthetics-shard-*', path: 'shards' });
    const finalUpload = node(uploads.at(-1)!.with, 'final upload');
    assert.equal(finalUpload.name, 'kasm-synthetics-report');
    assert.deepEqual(text(finalUpload.path, 'final upload path').trim().split('\n'), ['reports/', 'all-blob-reports/']);
  });

  it('merges after every shard (if: always()), builds the reports and writes the diagnosis and JUnit to the job summary', () => {
    assert.equal(mergeJob.needs, 'check');
    assert.equal(mergeJob.if, 'always()');
    assert.ok(runOf(stepRunning(mergeSteps, 'blobs=(')).includes('blobs=(shards/*/blob-report/*.zip)'));
    assert.ok(runOf(stepRunning(mergeSteps, 'merge-reports')).includes('npx playwright merge-reports --config playwright.merge.config.ts ./all-blob-reports'));
    const report = stepRunning(mergeSteps, 'npm run report');
    assert.equal(runOf(report).trim(), 'npm run report');
    assert.equal(report.if, 'always()');
    const summary = stepRunning(mergeSteps, 'GITHUB_STEP_SUMMARY');
    assert.ok(runOf(summary).includes('cat reports/diagnosis.md >> "$GITHUB_STEP_SUMMARY"'));
    assert.equal(summary.if, 'always()');
    const junit = mergeSteps.find((s) => usesOf(s) === 'mikepenz/action-junit-report@v5');
    assert.equal(junit?.if, 'always()');
    assert.equal(node(junit.with, 'junit with').report_paths, 'reports/junit.xml');
  });

  it('allows mutations only on a manual run that asked for them', () => {
    assert.equal(node(checkJob.env, 'check.env').KASM_ALLOW_MUTATIONS, "${{ github.event_name == 'workflow_dispatch' && inputs.allow_mutations && 'true' || 'false' }}");
    const settings = runOf(stepRunning(checkSteps, 'GITHUB_VARS'));
    // GitHub variables may not set what the workflow decides, nor carry secrets.
    assert.ok(settings.includes('select(.key | test("^KASM_(API_SECRET|USER_PASSWORD|SSH_PASSPHRASE|SSH_KEY|ENV|ALLOW_MUTATIONS)$") | not)'), settings);
  });

  it('keeps secrets out of run: scripts and never prints them', () => {
    // Secrets only as step env values; scripts see no ${{ }} but the shard numbers (inputs arrive as env too).
    const secretUses = strings(github, new Set()).filter(({ value }) => value.includes('secrets.'));
    assert.ok(secretUses.length >= 5);
    for (const { path, value } of secretUses) {
      assert.equal(path.at(-2), 'env', `secrets used outside a step env: ${path.join('.')} = ${value}`);
      assert.match(value, /^\$\{\{ secrets\.KASM_[A-Z_]+ \}\}$/);
    }
    for (const step of allSteps) {
      const run = runOf(step);
      const expressions = [...run.matchAll(/\$\{\{\s*([^}]*?)\s*\}\}/g)].map((m) => m[1]);
      assert.deepEqual(expressions.filter((e) => e !== 'matrix.shard' && e !== 'strategy.job-total'), [], `${String(step.name)}: expressions in run:`);
      assert.doesNotMatch(run, /\bset\s+-[a-z]*x/, `${String(step.name)} traces commands (set -x) and would print secrets`);
      const secretEnv = Object.entries(isNode(step.env) ? step.env : {}).filter(([, v]) => String(v).includes('secrets.')).map(([k]) => k);
      for (const line of run.split('\n')) {
        const printed = secretEnv.filter((name) => new RegExp(`\\$\\{?${name}\\b`).test(line));
        if (!printed.length) continue;
        assert.doesNotMatch(line, /\b(echo|cat|tee)\b/, `${String(step.name)} prints ${printed.join(', ')}: ${line}`);
        if (/\bprintf\b/.test(line)) assert.match(line, /> "\$dir\/[\w.]+"$/, `${String(step.name)} printf of ${printed.join(', ')} must go to a file: ${line}`);
      }
    }
  });

  it('writes the SSH key and known_hosts secrets to 0600 files', () => {
    const ssh = stepRunning(checkSteps, 'id_kasm');
    assert.deepEqual(ssh.env, { SSH_KEY: '${{ secrets.KASM_SSH_KEY }}', SSH_KNOWN_HOSTS: '${{ secrets.KASM_SSH_KNOWN_HOSTS }}' });
    const run = runOf(ssh);
    assert.ok(run.startsWith('umask 077\n'));
    assert.ok(run.includes('chmod 600 "$dir/id_kasm"'));
    assert.ok(run.includes('echo "KASM_SSH_KEY_FILE=$dir/id_kasm" >> "$GITHUB_ENV"'));
    assert.ok(run.includes('echo "KASM_SSH_KNOWN_HOSTS=$dir/known_hosts" >> "$GITHUB_ENV"'));
    const check = stepRunning(checkSteps, 'npm run check');
    assert.deepEqual(Object.keys(node(check.env, 'check step env')).sort(), ['GREP', 'KASM_API_SECRET', 'KASM_SSH_PASSPHRASE', 'KASM_USER_PASSWORD']);
    assert.equal(node(check.env, 'check step env').GREP, '${{ inputs.grep }}');
  });
});

describe('GitLab template', () => {
  it('has the check and report stages, runs on schedules and manual (web) pipelines', () => {
    assert.deepEqual(gitlab.stages, ['check', 'report']);
    const rules = (job: string) => list(gitlabJob(job).rules, `${job}.rules`).map((r) => node(r, 'rule'));
    assert.deepEqual(rules('kasm-synthetics:check'), [
      { if: '$CI_PIPELINE_SOURCE == "schedule"' },
      { if: '$CI_PIPELINE_SOURCE == "web" && $KASM_ALLOW_MUTATIONS != "true"' },
    ]);
    assert.deepEqual(rules('kasm-synthetics:check-mutating'), [{ if: '$CI_PIPELINE_SOURCE == "web" && $KASM_ALLOW_MUTATIONS == "true"' }]);
    assert.deepEqual(rules('kasm-synthetics:report'), [
      { if: '$CI_PIPELINE_SOURCE == "schedule"', when: 'always' },
      { if: '$CI_PIPELINE_SOURCE == "web"', when: 'always' },
    ]);
  });

  it('shards with parallel and CI_NODE_INDEX/CI_NODE_TOTAL; a mutating run is one job', () => {
    const check = gitlabJob('kasm-synthetics:check');
    assert.equal(check.stage, 'check');
    assert.ok(Number.isInteger(check.parallel) && (check.parallel as number) >= 2, `parallel: ${String(check.parallel)}`);
    const body = script(check);
    assert.ok(body.includes('if [ -n "${CI_NODE_INDEX:-}" ]; then set -- "$@" "--shard=$CI_NODE_INDEX/$CI_NODE_TOTAL"; fi'), body);
    assert.ok(body.includes('npm run check -- "$@" || code=$?'), body);
    assert.ok(body.includes('exit "$code"'), 'the job must end with npm run check\'s exit code (1 and 2 fail it)');
    assert.equal(gitlabJob('kasm-synthetics:check-mutating').parallel, undefined);
    assert.equal(script(gitlabJob('kasm-synthetics:check-mutating')), body);
    assert.ok(script(check, 'before_script').includes('npm ci --no-audit --no-fund'));
  });

  it('keeps reports/ with when: always and publishes reports/junit.xml from every check job', () => {
    for (const name of GITLAB_JOBS) {
      const artifacts = node(gitlabJob(name).artifacts, `${name}.artifacts`);
      assert.equal(artifacts.when, 'always', name);
      assert.ok(list(artifacts.paths, `${name}.artifacts.paths`).includes('reports/'), name);
    }
    for (const name of ['kasm-synthetics:check', 'kasm-synthetics:check-mutating']) {
      assert.deepEqual(node(gitlabJob(name).artifacts, name).reports, { junit: 'reports/junit.xml' });
    }
    // The merged results would count every test twice in the pipeline's Tests tab.
    assert.equal(node(gitlabJob('kasm-synthetics:report').artifacts, 'report').reports, undefined);
    // Restore files hold the workspace's original override: restored on the runner, never kept as an artifact.
    for (const name of ['kasm-synthetics:check', 'kasm-synthetics:check-mutating', 'kasm-synthetics:report']) {
      assert.ok(!list(node(gitlabJob(name).artifacts, name).paths, `${name}.artifacts.paths`).some((p) => String(p).includes('.kasm-state')), name);
    }
    assert.deepEqual(gitlabJob('kasm-synthetics:check-mutating').after_script, ['npm run restore']);
    for (const name of ['kasm-synthetics:check', 'kasm-synthetics:check-mutating']) assert.equal(gitlabJob(name).resource_group, 'kasm-synthetics-$KASM_ENV', name);
  });

  it('merges the shards in the report job and builds the reports', () => {
    const report = gitlabJob('kasm-synthetics:report');
    assert.equal(report.stage, 'report');
    assert.deepEqual(report.needs, [
      { job: 'kasm-synthetics:check', artifacts: true, optional: true },
      { job: 'kasm-synthetics:check-mutating', artifacts: true, optional: true },
    ]);
    const body = script(report);
    assert.ok(body.includes('cp reports/blob-report/*.zip all-blob-reports/'), body);
    assert.ok(body.includes('npx playwright merge-reports --config playwright.merge.config.ts ./all-blob-reports'), body);
    assert.equal(body.split('\n').at(-1), 'npm run report');
  });

  it('allows mutations only in web pipelines and keeps secrets out of the YAML and the log', () => {
    const check = script(gitlabJob('kasm-synthetics:check'));
    assert.ok(check.includes('if [ "$CI_PIPELINE_SOURCE" != "web" ] || [ "${KASM_ALLOW_MUTATIONS:-false}" != "true" ]; then\n  export KASM_ALLOW_MUTATIONS=false\nfi'), check);
    assert.ok(check.includes('export KASM_SSH_KEY_FILE="$KASM_SSH_KEY"'));
    const top = node(gitlab.variables, 'variables');
    assert.deepEqual(node(top.KASM_ALLOW_MUTATIONS, 'KASM_ALLOW_MUTATIONS').value, 'false');
    for (const name of GITLAB_JOBS) {
      const job = gitlabJob(name);
      const variables = isNode(job.variables) ? Object.keys(job.variables) : [];
      for (const secret of SECRET_NAMES) {
        assert.ok(!(secret in top) && !variables.includes(secret), `${secret} is defined in the template (${name}): it must be a masked CI/CD variable`);
      }
      for (const line of [script(job, 'before_script'), job.script ? script(job) : ''].join('\n').split('\n')) {
        assert.doesNotMatch(line, /\bset\s+-[a-z]*x/, `${name} traces commands (set -x)`);
        if (/\b(echo|cat|tee)\b/.test(line)) {
          for (const secret of SECRET_NAMES) assert.doesNotMatch(line, new RegExp(`\\$\\{?${secret}\\b`), `${name} prints ${secret}: ${line}`);
        }
      }
    }
    assert.deepEqual(gitlabJob('kasm-synthetics:check').environment, { name: '$KASM_ENV', action: 'verify' });
  });
});

describe('Dockerfile', () => {
  const first = (keyword: string) => docker.find((i) => i.keyword === keyword);
  const index = (predicate: (i: Instruction) => boolean) => docker.findIndex(predicate);

  it('builds on node:20 with Debian Chromium, CA certificates, curl and an SSH client', () => {
    assert.equal(docker[0]?.keyword, 'FROM');
    assert.equal(docker[0]?.args, 'node:20-bookworm-slim');
    assert.equal(docker.filter((i) => i.keyword === 'FROM').length, 1);
    const apt = docker.find((i) => i.keyword === 'RUN' && i.args.includes('apt-get install'));
    assert.ok(apt, 'no apt-get install');
    assert.ok(apt.args.includes('apt-get install -y --no-install-recommends chromium ca-certificates curl openssh-client'), apt.args);
    assert.ok(apt.args.includes('rm -rf /var/lib/apt/lists/*'));
    const env = docker.filter((i) => i.keyword === 'ENV').map((i) => i.args).join(' ');
    assert.match(env, /(^| )KASM_BROWSER_PATH=\/usr\/bin\/chromium( |$)/);
    assert.equal(first('WORKDIR')?.args, '/suite');
  });

  it('installs dependencies from package*.json with npm ci before copying the sources', () => {
    const copyManifest = index((i) => i.keyword === 'COPY' && i.args === 'package*.json ./');
    const npmCi = index((i) => i.keyword === 'RUN' && /^npm ci\b/.test(i.args));
    const copySources = index((i) => i.keyword === 'COPY' && i.args === '. .');
    assert.ok(copyManifest >= 0 && npmCi > copyManifest && copySources > npmCi, `COPY package*.json (${copyManifest}) < RUN npm ci (${npmCi}) < COPY . . (${copySources})`);
  });

  it('keeps node_modules, reports, test-results and local (secret) env files out of the build context', () => {
    const ignored = read(DOCKERIGNORE).split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    for (const entry of ['.git', 'node_modules', 'reports', 'test-results', 'environments/*.local.env', '.kasm-state']) {
      assert.ok(ignored.includes(entry), `.dockerignore lacks ${entry}`);
    }
  });

  it('runs as a non-root user, npm run <script> with check by default, reports in a volume', () => {
    const users = docker.filter((i) => i.keyword === 'USER');
    assert.ok(users.length, 'no USER: the image would run as root');
    const user = users.at(-1)!.args.split(':')[0];
    assert.ok(user !== 'root' && user !== '0', `USER ${user}`);
    assert.ok(index((i) => i.keyword === 'USER') > index((i) => i.keyword === 'RUN' && /^npm ci\b/.test(i.args)));
    assert.equal(docker.at(-2)?.keyword, 'ENTRYPOINT');
    assert.deepEqual(JSON.parse(docker.at(-2)!.args), ['npm', 'run']);
    assert.equal(docker.at(-1)?.keyword, 'CMD');
    assert.deepEqual(JSON.parse(docker.at(-1)!.args), ['check']);
    assert.ok(docker.some((i) => i.keyword === 'VOLUME' && /(^|[\s"[])\/suite\/reports(["\s\],]|$)/.test(i.args)));
  });

  it('bakes in no secret: no ENV or ARG named like a secret, key or password', () => {
    for (const instruction of docker.filter((i) => i.keyword === 'ENV' || i.keyword === 'ARG')) {
      const names = [...instruction.args.matchAll(/(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)(?==|\s|$)/g)].map((m) => m[1]!);
      assert.ok(names.length, instruction.args);
      for (const name of names) assert.doesNotMatch(name, /SECRET|PASSWORD|PASSPHRASE|TOKEN|KEY/i, `${instruction.keyword} ${name}`);
    }
    for (const secret of SECRET_NAMES) assert.doesNotMatch(read(DOCKERFILE), new RegExp(`^\\s*(ENV|ARG)\\b.*\\b${secret}\\b`, 'm'));
  });
});
