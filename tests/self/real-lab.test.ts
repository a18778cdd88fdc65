// The real-parts lab (lab/real/): real OpenSSH, sudo, Docker engines, nginx and firewalls in network namespaces, and
// the suite against it, fault by fault. Skipped, with the reason, where it cannot run (not Linux, not root, no apt).
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { projectRoot } from '../../helpers/config.ts';
import { renderCommand, type RemoteCommand } from '../../helpers/probes/remote-commands.ts';
import { pendingRestores } from '../../helpers/workspace-override.ts';
import { listNamespaces, NS_PREFIX } from '../../lab/real/network.ts';
import { realLabSupport } from '../../lab/real/prereqs.ts';
import { reapDeadLabs } from '../../lab/real/reap.ts';
import { REAL_FAULTS, startRealLab, type RealLab } from '../../lab/real/index.ts';
import { FAULT_MATRIX } from './fault-matrix.ts';
import { failureContext, filesUnder, runSuite } from './suite-run.ts';

const support = await realLabSupport({ install: true });
const skip = support.ok ? false : `the real-parts lab cannot run here: ${support.reason}`;

function ssh(lab: RealLab, host: string, command: string): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile('/usr/bin/ssh', ['-F', lab.hosts.ssh.configFile, '-o', 'BatchMode=yes', host, command], { timeout: 30_000, encoding: 'utf8' }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr, ms: Date.now() - started });
    });
  });
}

const mine = async (id: string) => (await listNamespaces()).filter((ns) => ns.startsWith(`${NS_PREFIX}${id}-`));
const cgroupsOf = (id: string) => ['/sys/fs/cgroup', ...readdirSync('/sys/fs/cgroup').map((n) => join('/sys/fs/cgroup', n))].flatMap((dir) => {
  try {
    return readdirSync(dir).filter((n) => n.startsWith(`kasmlab-${id}-`));
  } catch {
    return [];
  }
});

describe('real-parts lab', { skip, concurrency: false }, () => {
  let lab: RealLab;
  const work = mkdtempSync(join(tmpdir(), 'kasm-real-matrix-'));
  before(async () => {
    // The matrix's idle cut: the load balancer's proxy_read_timeout is 2 s, and the idle-cut row holds 3 s.
    lab = await startRealLab({ idleCutSeconds: 2 });
  });
  after(async () => {
    await lab?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('is up within 20 s with real sshd, nginx and dockerd processes and one namespace per host', async () => {
    assert.ok(lab.startMs < 20_000, `the lab took ${lab.startMs} ms to start`);
    const ps = await new Promise<string>((resolve) => execFile('/usr/bin/ps', ['-eo', 'comm='], (_e, out) => resolve(out)));
    for (const name of ['sshd', 'nginx', 'dockerd', 'containerd']) assert.ok(ps.split('\n').includes(name), `no ${name} process is running`);
    assert.deepEqual((await mine(lab.hosts.id)).map((ns) => ns.slice(`${NS_PREFIX}${lab.hosts.id}-`.length)).sort(), ['agent-1', 'bastion', 'lb', 'net', 'webapp-1']);
  });

  it("OpenSSH's client logs in through the bastion with the lab's key and known_hosts, and sudo -n docker ps -a prints Docker's own table", async () => {
    const run = await ssh(lab, 'kasm-agent-1', 'hostname; sudo -n docker ps -a');
    assert.equal(run.code, 0, run.stderr);
    const [hostname, header, ...rows] = run.stdout.trim().split('\n');
    assert.equal(hostname, 'kasm-agent-1');
    assert.match(header!, /^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/);
    assert.ok(rows.some((r) => /kasmweb\/agent:1\.16\.0 .*Up .*\(healthy\)\s+4444\/tcp\s+kasm_agent$/.test(r)), run.stdout);
    assert.ok(rows.some((r) => /kasmweb\/nginx:1\.25\.1 .*0\.0\.0\.0:443->443\/tcp.*kasm_proxy$/.test(r)), run.stdout);
  });

  it("real sudo lets the login user run exactly the suite's privileged commands, and refuses the rest at once", async () => {
    const since = new Date(Date.now() - 60_000);
    const allowed: RemoteCommand[] = [
      { kind: 'docker-ps' },
      { kind: 'docker-ps-table' },
      { kind: 'docker-logs', container: 'kasm_proxy', since, tail: 5 },
      { kind: 'docker-logs', container: 'kasm_proxy', since, until: new Date() },
      { kind: 'docker-exec-read', container: 'kasm_proxy', path: '/etc/nginx/nginx.conf', maxBytes: 100 },
      { kind: 'docker-exec-read', container: 'kasm_proxy', path: '/etc/passwd' },
      { kind: 'docker-exec-list', container: 'kasm_proxy', dir: '~' },
      { kind: 'docker-exec-list', container: 'kasm_proxy', dir: '/etc/nginx' },
      { kind: 'docker-inspect-env', container: 'kasm_proxy' },
      { kind: 'docker-inspect-networks', container: 'kasm_proxy' },
      { kind: 'ufw-status' },
      { kind: 'iptables-rules' },
    ];
    for (const command of allowed) {
      const text = renderCommand(command, { sudo: true });
      const run = await ssh(lab, 'kasm-agent-1', text);
      assert.equal(run.code, 0, `${text}: exit ${run.code}: ${run.stderr}`);
    }
    for (const text of ['sudo -n docker images', "sudo -n docker exec kasm_proxy sh -c 'id'", 'sudo -n docker exec -u root kasm_proxy cat -- /etc/passwd', 'sudo -n docker run --rm kasmweb/nginx:1.25.1', 'sudo -n ufw disable', 'sudo -n iptables -F', "sudo -n docker logs --since '2026-01-01T00:00:00.000Z' kasm_proxy --details"]) {
      const run = await ssh(lab, 'kasm-agent-1', `${text}; echo "exit $?"`);
      assert.match(run.stdout + run.stderr, /sudo: a password is required/, text);
      assert.ok(run.ms < 10_000, `${text} took ${run.ms} ms: sudo -n must refuse at once`);
    }
  });

  for (const row of FAULT_MATRIX.filter((r) => r.fault === null || REAL_FAULTS.has(r.fault))) {
    const failing = row.onRealParts?.failing ?? row.failing;
    it(`${row.title ?? row.fault ?? 'healthy lab'} on real parts: ${failing.length ? `${failing.join(', ')} fail, faulty hop ${row.faultyHop}` : 'nothing fails'}`, { timeout: 180_000 }, async () => {
      await lab.faults.set(row.fault ? [row.fault] : []);
      // With kasm_api stopped nothing answers for Kasm's database, and nobody works: no colleague either.
      const apiDown = row.fault === 'api-down';
      const kasmDown = apiDown || row.fault === 'proxy-stale-dns';
      const overrideBefore = apiDown ? undefined : (await lab.kasm()).images[0]!.run_config;
      // Docker marks kasm_agent unhealthy after its HEALTHCHECK failed twice, a second apart.
      if (row.fault === 'container-unhealthy') await new Promise((resolve) => setTimeout(resolve, 4_000));
      const dir = join(work, `${row.fault ?? 'healthy'}-${FAULT_MATRIX.indexOf(row)}`);
      const run = await runSuite(lab, dir, row.env);
      const context = failureContext(run, 6000);
      assert.ok(run.diagnosis, `no diagnosis.json written${context}`);
      const failed = run.diagnosis.findings.filter((f) => f.status === 'fail');
      assert.deepEqual(failed.map((f) => f.check).sort(), [...failing].sort(), context);
      assert.equal(run.diagnosis.faultyHop, row.faultyHop, context);
      assert.equal(run.code, failing.length ? 1 : 0, context);
      assert.deepEqual(run.diagnosis.findings.filter((f) => f.flaky).map((f) => f.check), row.flaky ?? [], `flaky checks${context}`);
      const message = row.onRealParts?.message ?? row.message;
      if (message) assert.match(failed[0]!.summary, message, context);
      for (const finding of failed) assert.ok(finding.remediation.length > 20, `${finding.check}: the finding must say what to do`);
      if (!row.fault) assert.deepEqual(run.diagnosis.findings.filter((f) => f.status === 'warn').map((f) => f.check), [], `a healthy lab has no warnings${context}`);
      if (row.warns) {
        const warning = run.diagnosis.findings.find((f) => f.check === row.warns!.check);
        assert.equal(warning?.status, 'warn', `${row.warns.check} warns${context}`);
        assert.match(warning.summary, row.warns.message, context);
        assert.equal(run.diagnosis.verdict, 'healthy', context);
      }
      const state = apiDown ? { sessions: [], issued: [], images: [] } : await lab.kasm();
      const secrets = [lab.env.KASM_API_SECRET!, lab.env.KASM_USER_PASSWORD!, ...state.issued];
      // The colleague's session is another user's data: counted in transcripts, never named in anything written.
      const colleague = lab.colleagueKasmId ? [lab.colleagueKasmId, lab.colleagueKasmId.replaceAll('-', ''), lab.colleagueKasmId.replaceAll('-', '').slice(0, 8), 'colleague@kasm.local'] : [];
      for (const file of filesUnder(dir)) {
        const text = readFileSync(file, 'latin1');
        for (const secret of secrets) assert.ok(!text.includes(secret), `a secret leaked into ${file}`);
        for (const mark of colleague) assert.ok(!text.includes(mark), `another user's data (${mark}) reached ${file}`);
      }
      assert.deepEqual(state.sessions.filter((s) => s.status !== 'stopped' && s.username === lab.env.KASM_USER).map((s) => s.kasmId), [], 'the suite left sessions behind');
      if (kasmDown) assert.equal(lab.colleagueKasmId, undefined, 'nobody works while kasm_api is unreachable');
      else assert.ok(state.sessions.some((s) => s.kasmId === lab.colleagueKasmId && s.status === 'running'), "the colleague's session was touched");
      if (row.env?.KASM_ALLOW_MUTATIONS === 'true') {
        assert.deepEqual(run.diagnosis.changes.map((c) => c.state), ['applied', 'restored'], context);
        assert.equal(state.images[0]!.run_config, overrideBefore, 'the override is restored byte for byte');
        assert.deepEqual(pendingRestores(lab.env.KASM_STATE_DIR!), [], 'no restore file is left');
      } else {
        assert.deepEqual(run.diagnosis.changes.map((c) => c.state), ['skipped'], context);
      }
      const agent = lab.hosts.byId('agent-1');
      const { stdout } = await agent.docker(['ps', '-a', '--format', '{{.Names}}']);
      const left = stdout.trim().split('\n').filter((name) => !['kasm_agent', 'kasm_proxy'].includes(name) && !name.startsWith('colleaguekas_'));
      if (left.length) {
        // Said with the agent's own account of it, and removed, so the rows after this one judge only themselves.
        const agentLog = (await agent.docker(['logs', '--since', '10m', 'kasm_agent'])).stdout.split('\n').slice(-40).join('\n');
        await agent.docker(['rm', '-f', ...left]);
        assert.fail(`a session container of the suite was left on the agent: ${left.join(', ')}${context}\n--- kasm_agent's log (last 40 lines) ---\n${agentLog}`);
      }
    });
  }
  it('a check that cannot read its evidence (sudo wants a password, sshd stopped) is "not judged", never a Kasm hop failing, and costs no retry', { timeout: 180_000 }, async () => {
    await lab.faults.set([]);
    const agent = lab.hosts.byId('agent-1');
    const rule = join(agent.dir, 'etc/sudoers.d/kasm-synthetics');
    const saved = readFileSync(rule, 'utf8');
    const cases: Array<{ name: string; breakIt: () => Promise<void>; mend: () => Promise<void>; says: RegExp }> = [
      { name: 'sudo wants a password', breakIt: async () => rmSync(rule), mend: async () => writeFileSync(rule, saved, { mode: 0o440 }), says: /sudo wants a password .*\(sudo: a password is required\)/ },
      {
        name: 'sshd stopped',
        breakIt: async () => void (await agent.exec(['/usr/bin/pkill', '-x', 'sshd'])),
        mend: async () => {
          await agent.exec(['/usr/sbin/sshd', '-f', '/etc/ssh/sshd_config']);
          await agent.waitForSshd();
        },
        says: /could not check over SSH: .*198\.18\.0\.101:22.*Connection refused/,
      },
    ];
    for (const c of cases) {
      await c.breakIt();
      try {
        const run = await runSuite(lab, join(work, `not-judged-${c.name.replaceAll(' ', '-')}`));
        const context = failureContext(run, 4000);
        assert.equal(run.diagnosis?.verdict, 'healthy', `${c.name}: Kasm is healthy, the suite only could not see${context}`);
        assert.equal(run.code, 0, context);
        const notJudged = run.diagnosis!.findings.filter((f) => f.status === 'warn');
        for (const check of ['agent.containers', 'agent.firewall', 'agent.websocket-log', 'session.crash', 'session.auth', 'session.websocket-handshake']) {
          const finding = notJudged.find((f) => f.check === check);
          assert.ok(finding, `${c.name}: ${check} is not judged${context}`);
          assert.match(finding.summary, /^not judged: /, `${c.name}: ${check}`);
          assert.match(finding.summary, c.says, `${c.name}: ${check}`);
        }
        assert.ok(!run.diagnosis!.findings.some((f) => f.flaky), `${c.name}: nothing was retried`);
      } finally {
        await c.mend();
      }
    }
  });
});

describe('real-parts lab teardown', { skip, concurrency: false }, () => {
  it('stop leaves no namespace, process, cgroup or file behind', { timeout: 120_000 }, async () => {
    const lab = await startRealLab();
    const { id } = lab.hosts;
    assert.equal((await mine(id)).length, 5);
    await lab.stop();
    assert.deepEqual(await mine(id), []);
    assert.deepEqual(cgroupsOf(id), []);
    assert.equal(existsSync(lab.root), false);
  });

  it('a lab whose process is killed with SIGKILL loses its processes at once, and the next start removes the rest', { timeout: 120_000 }, async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', "const { startRealLab } = await import('./lab/real/index.ts'); const lab = await startRealLab(); console.log(JSON.stringify({ id: lab.hosts.id, root: lab.root })); setInterval(() => undefined, 1000);"], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk;
        const done = out.split('\n').find((l) => l.startsWith('{'));
        if (done) resolve(done);
      });
      child.once('exit', (code) => reject(new Error(`the lab process ended (${code}) before it was up`)));
    });
    const { id, root } = JSON.parse(line) as { id: string; root: string };
    const namespaces = await mine(id);
    assert.equal(namespaces.length, 5);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    // Every host's init had the lab's process as its parent's parent-death signal: the kernel ends them all.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const pids = (await Promise.all(namespaces.map((ns) => new Promise<string>((resolve) => execFile('/usr/sbin/ip', ['netns', 'pids', ns], (_e, out) => resolve(out)))))).join('').trim();
      if (!pids) break;
      assert.ok(Date.now() < deadline, `processes still run in the killed lab's namespaces: ${pids}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok((await reapDeadLabs()).includes(id));
    assert.deepEqual(await mine(id), []);
    assert.deepEqual(cgroupsOf(id), []);
    assert.equal(existsSync(root), false);
  });
});
