// The KASM_DEBUG override: merging into every shape of Docker Run Config Override, the restore file, and the
// apply/restore round trip against the lab's kasm_api (both update_image forms, a concurrent edit, a restore that
// must not overwrite it).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Agent } from 'undici';
import { parseConfig } from '../../helpers/config.ts';
import { KasmApiClient, KasmApiError } from '../../helpers/kasm-api.ts';
import { createDispatcher } from '../../helpers/net.ts';
import {
  applyDebugOverride,
  fieldsToRestore,
  madeByRun,
  otherFieldChanges,
  OverrideError,
  pendingRestores,
  readRecord,
  restoreDebugOverride,
  restoreFile,
  runConfigObject,
  saveFailureHint,
  withDebug,
  type OverrideErrorCode,
} from '../../helpers/workspace-override.ts';
import { startLab, type Lab } from '../../lab/index.ts';

const rejectsWith = (code: OverrideErrorCode, pattern: RegExp) => (error: unknown) => {
  assert.ok(error instanceof OverrideError, `expected OverrideError, got ${String(error)}`);
  assert.equal(error.code, code);
  assert.match(error.message, pattern);
  assert.ok(error.hint.length > 20, 'the error says what to do');
  return true;
};

describe('merging KASM_DEBUG into a Docker Run Config Override', () => {
  it('keeps every other key and adds the environment when there is none', () => {
    const result = withDebug(runConfigObject('{"hostname":"kasm","user":"root"}', 'w'), 'w');
    assert.deepEqual(result, { next: { hostname: 'kasm', user: 'root', environment: { KASM_DEBUG: 1 } }, change: 'environment.KASM_DEBUG: absent -> 1' });
    assert.equal(JSON.stringify(result!.next), '{"hostname":"kasm","user":"root","environment":{"KASM_DEBUG":1}}');
  });

  it('adds to an environment mapping, and replaces a KASM_DEBUG of 0', () => {
    assert.deepEqual(withDebug({ environment: { TZ: 'UTC' } }, 'w')!.next, { environment: { TZ: 'UTC', KASM_DEBUG: 1 } });
    assert.deepEqual(withDebug({ environment: { KASM_DEBUG: '0' } }, 'w'), { next: { environment: { KASM_DEBUG: 1 } }, change: 'environment.KASM_DEBUG: "0" -> 1' });
  });

  it('keeps a list-form environment a list', () => {
    assert.deepEqual(withDebug({ environment: ['TZ=UTC'] }, 'w'), { next: { environment: ['TZ=UTC', 'KASM_DEBUG=1'] }, change: 'environment KASM_DEBUG= (absent) -> KASM_DEBUG=1' });
    assert.deepEqual(withDebug({ environment: ['KASM_DEBUG=0', 'TZ=UTC'] }, 'w')!.next, { environment: ['KASM_DEBUG=1', 'TZ=UTC'] });
  });

  it('changes nothing when KASM_DEBUG is already 1, in any form', () => {
    assert.equal(withDebug({ environment: { KASM_DEBUG: 1 } }, 'w'), null);
    assert.equal(withDebug({ environment: { KASM_DEBUG: '1' } }, 'w'), null);
    assert.equal(withDebug({ environment: ['KASM_DEBUG=1'] }, 'w'), null);
  });

  it('reads every form Kasm returns: a JSON string, an object, nothing', () => {
    assert.deepEqual(runConfigObject('{"a":1}', 'w'), { a: 1 });
    assert.deepEqual(runConfigObject({ a: 1 }, 'w'), { a: 1 });
    assert.deepEqual(runConfigObject('', 'w'), {});
    assert.deepEqual(runConfigObject(null, 'w'), {});
    assert.deepEqual(runConfigObject(undefined, 'w'), {});
  });

  it('refuses an override that is not a JSON object, naming the workspace', () => {
    assert.throws(() => runConfigObject('{"hostname":', 'Ubuntu'), rejectsWith('OVERRIDE_NOT_AN_OBJECT', /^workspace "Ubuntu": its Docker Run Config Override is not valid JSON \(/));
    assert.throws(() => runConfigObject('[1]', 'Ubuntu'), rejectsWith('OVERRIDE_NOT_AN_OBJECT', /^workspace "Ubuntu": its Docker Run Config Override is an array, not a JSON object$/));
    assert.throws(() => withDebug({ environment: 'KASM_DEBUG=1' }, 'Ubuntu'), rejectsWith('OVERRIDE_NOT_AN_OBJECT', /"environment" in its Docker Run Config Override is string, not a mapping or a list/));
  });
});

describe('restore files', () => {
  it('lists only the files of one Kasm, and reports one it cannot read instead of failing', () => {
    const state = mkdtempSync(join(tmpdir(), 'kasm-state-'));
    try {
      const mine = restoreFile(state, 'https://kasm.example.com/', 'img1');
      const other = restoreFile(state, 'https://other.example.com/', 'img1');
      mkdirSync(join(mine, '..'), { recursive: true });
      const record = { version: 1, kasmUrl: 'https://kasm.example.com', imageId: 'img1', workspace: 'W', original: '{}', applied: '{"environment":{"KASM_DEBUG":1}}', change: 'c', via: null, at: 'now', pid: 1 };
      writeFileSync(mine, JSON.stringify(record));
      writeFileSync(other, '{"version": 1');
      assert.deepEqual(pendingRestores(state, 'https://kasm.example.com/x').map((p) => [p.file, p.record?.imageId]), [[mine, 'img1']]);
      const all = pendingRestores(state);
      assert.equal(all.length, 2);
      assert.equal(all.find((p) => p.file === other)!.error!.code, 'OVERRIDE_RESTORE_FILE_INVALID');
      assert.match(all.find((p) => p.file === other)!.error!.message, /cannot be read/);
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  });
});

describe('who restores a change', () => {
  it("is only the run that made it: a teardown leaves another live run's change alone", () => {
    const runner = { pid: 4242, host: 'ci-runner-1' };
    assert.equal(madeByRun({ runner }, runner), true);
    assert.equal(madeByRun({ runner }, { pid: 4243, host: 'ci-runner-1' }), false, 'a second run beside the first');
    assert.equal(madeByRun({ runner }, { pid: 4242, host: 'ci-runner-2' }), false, 'the same pid on another machine');
    assert.equal(madeByRun({ runner: undefined }, runner), false, 'a record without its owner is for npm run restore');
  });
});

describe('a save that fails', () => {
  it('blames the key\'s permissions only for a refusal, never for a 5xx', () => {
    const refusal = new KasmApiError('KASM_API_AUTH', 'update_image', '/api/admin/update_image answered 403', { status: 403 });
    const unknown = new KasmApiError('KASM_API_ERROR', 'update_image', 'answered 404 with error_message "Unknown API call update_image"', { status: 404, errorMessage: 'Unknown API call update_image' });
    const down = new KasmApiError('KASM_API_HTTP', 'update_image', '/api/public/update_image answered 502 Bad Gateway from nginx (an HTML error page)', { status: 502 });
    assert.match(saveFailureHint([refusal, unknown]).hint, /^Give the API key permission/);
    assert.equal(saveFailureHint([refusal, unknown]).lead, 'Kasm refused');
    const failed = saveFailureHint([refusal, down]);
    assert.equal(failed.lead, 'kasm_api failed with a server error on');
    assert.doesNotMatch(failed.hint, /permission/);
    assert.match(failed.hint, /^kasm_api answered 502: read `sudo docker logs --tail 100 kasm_api`/);
  });
});

describe('the rest of the workspace record', () => {
  it('names each other field that moved with both values\' shapes, never a text value', () => {
    const before = { image_id: 'i', run_config: '{}', cores: 2, enabled: true, description: 'secret-ish text', volume_mappings: { '/a': { bind: '/b' } } };
    assert.deepEqual(otherFieldChanges(before, { ...before, run_config: '{"x":1}' }), [], 'run_config is the change itself');
    assert.deepEqual(otherFieldChanges(before, { ...before, cores: 1, enabled: false, description: 'other', volume_mappings: {}, added: [1, 2] }), [
      'added (absent -> a list of 2)',
      'cores (2 -> 1)',
      'description (a string of 15 characters -> a string of 5 characters)',
      'enabled (true -> false)',
      'volume_mappings (keys {/a} -> keys {})',
    ]);
  });

  it('restores the fields the change\'s save moved, and leaves a field someone edited since as they left it', () => {
    const original = { image_id: 'i', run_config: 'o', cores: 2, enabled: true, description: 'd' };
    const applied = { ...original, run_config: 'a', cores: 8, enabled: false };
    const now = { ...applied, enabled: true, description: 'edited' };
    assert.deepEqual(fieldsToRestore(now, original, applied), { image_id: 'i', run_config: 'a', cores: 2, enabled: true, description: 'edited' });
    assert.equal(fieldsToRestore(now, undefined, undefined), now, 'a restore file of an older run: the record as read');
  });
});

describe('applying and restoring against the lab', () => {
  let lab: Lab;
  let dispatcher: Agent;
  let api: KasmApiClient;
  let state: string;
  const original = () => lab.workspace.run_config;

  before(async () => {
    lab = await startLab();
    const config = parseConfig({ ...lab.env });
    dispatcher = createDispatcher({ insecureTls: true, connectTimeoutMs: 5_000 });
    api = new KasmApiClient(config, dispatcher);
  });
  const states: string[] = [];
  after(async () => {
    await dispatcher?.close();
    await lab?.stop();
    for (const dir of states) rmSync(dir, { recursive: true, force: true });
  });

  const fresh = () => {
    state = mkdtempSync(join(tmpdir(), 'kasm-state-'));
    states.push(state);
    return { stateDir: state, kasmUrl: lab.url, imageId: lab.workspace.image_id };
  };

  it('sets KASM_DEBUG, writes the restore file first (owner-only), and restores the same bytes', async () => {
    const before = original();
    const options = fresh();
    const applied = await applyDebugOverride(api, options);
    assert.equal(applied.state, 'applied');
    assert.equal(applied.record!.via, 'admin update_image (target_image)');
    assert.equal(lab.workspace.run_config, '{"hostname":"kasm","environment":{"KASM_DEBUG":1}}');
    assert.equal(statSync(applied.file!).mode & 0o777, 0o600);
    assert.equal(readRecord(applied.file!).original, before);
    const restored = await restoreDebugOverride(api, applied.file!);
    assert.deepEqual(restored, { state: 'restored', workspace: 'Ubuntu Jammy', change: 'environment.KASM_DEBUG: absent -> 1', comparison: 'byte-for-byte', bytes: Buffer.byteLength(before) });
    assert.equal(lab.workspace.run_config, before);
    assert.equal(existsSync(applied.file!), false, 'the restore file is gone once restored');
  });

  it('saves the whole record: on a Kasm that resets what a save leaves out, every other field stays as it was', async () => {
    const before = structuredClone(lab.workspace);
    lab.api.updateImageBehaviour = { resetsUnsent: true };
    try {
      const applied = await applyDebugOverride(api, fresh());
      assert.deepEqual({ ...lab.workspace, run_config: before.run_config }, before, 'only run_config changed');
      assert.deepEqual(readRecord(applied.file!).originalFields, before);
      await restoreDebugOverride(api, applied.file!);
      assert.deepEqual(lab.workspace, before, 'the whole workspace is back');
    } finally {
      lab.api.updateImageBehaviour = {};
      Object.assign(lab.workspace, before);
    }
  });

  it('fails naming the field a save also changed, and the restore puts that field back too', async () => {
    const before = structuredClone(lab.workspace);
    lab.api.updateImageBehaviour = { alsoChanges: { cores: 8, enabled: false } };
    try {
      const options = fresh();
      await assert.rejects(applyDebugOverride(api, options), rejectsWith('OVERRIDE_OTHER_FIELDS_CHANGED', new RegExp(`also changed cores \\(${before.cores} -> 8\\), enabled \\(true -> false\\)`)));
      const file = restoreFile(options.stateDir, options.kasmUrl, options.imageId);
      assert.ok(existsSync(file), 'the change is in place and its restore file kept');
      // A Kasm that moves the fields on every save: the restore says so and keeps the file.
      await assert.rejects(restoreDebugOverride(api, file), rejectsWith('OVERRIDE_RESTORE_MISMATCH', /the override is back, but saving it also changed cores \(\d+ -> 8\), enabled \(true -> false\)/));
      assert.ok(existsSync(file));
      lab.api.updateImageBehaviour = {};
      // The override is back already; the fields that save moved are not, so this restore still saves them.
      assert.equal((await restoreDebugOverride(api, file)).state, 'restored');
      assert.deepEqual(lab.workspace, before, 'cores and enabled are back with the override');
    } finally {
      lab.api.updateImageBehaviour = {};
      Object.assign(lab.workspace, before);
    }
  });

  it('refuses to change the workspace again while an earlier change waits to be restored', async () => {
    const options = fresh();
    const applied = await applyDebugOverride(api, options);
    await assert.rejects(applyDebugOverride(api, options), rejectsWith('OVERRIDE_PENDING', /still carries a change from an earlier run \(pid \d+, .*environment\.KASM_DEBUG: absent -> 1\) that was not restored/));
    await restoreDebugOverride(api, applied.file!);
  });

  it('does not overwrite an edit made after the change, keeps the file, and restores it on --force', async () => {
    const before = original();
    const applied = await applyDebugOverride(api, fresh());
    lab.workspace.run_config = '{"hostname":"edited"}';
    await assert.rejects(restoreDebugOverride(api, applied.file!), rejectsWith('OVERRIDE_CHANGED_SINCE', /changed after this suite set KASM_DEBUG .* it is left as it is/));
    assert.equal(lab.workspace.run_config, '{"hostname":"edited"}');
    assert.ok(existsSync(applied.file!));
    const forced = await restoreDebugOverride(api, applied.file!, { force: true });
    assert.equal(forced.state, 'restored');
    assert.equal(lab.workspace.run_config, before);
  });

  it('says so when the workspace is already back, and changes nothing when KASM_DEBUG is already 1', async () => {
    const before = original();
    const applied = await applyDebugOverride(api, fresh());
    lab.workspace.run_config = before;
    assert.equal((await restoreDebugOverride(api, applied.file!)).state, 'already-original');
    lab.workspace.run_config = '{"environment":{"KASM_DEBUG":"1"}}';
    try {
      const outcome = await applyDebugOverride(api, fresh());
      assert.equal(outcome.state, 'already-set');
      assert.equal(existsSync(restoreFile(state, lab.url, lab.workspace.image_id)), false);
    } finally {
      lab.workspace.run_config = before;
    }
  });

  it('restores an object-form override (older Kasm) as the same JSON', async () => {
    const before = original();
    const workspace = lab.workspace as unknown as { run_config: unknown };
    workspace.run_config = { hostname: 'kasm' };
    try {
      const applied = await applyDebugOverride(api, fresh());
      const restored = await restoreDebugOverride(api, applied.file!);
      assert.equal(restored.comparison, 'same JSON');
      assert.equal(lab.workspace.run_config, '{"hostname":"kasm"}');
    } finally {
      lab.workspace.run_config = before;
    }
  });

  it('falls back to the public workspace form when the admin form is not there', async () => {
    const publicOnly = await startLab({ updateImageForms: ['public'] });
    const client = createDispatcher({ insecureTls: true, connectTimeoutMs: 5_000 });
    try {
      const otherApi = new KasmApiClient(parseConfig({ ...publicOnly.env }), client);
      const before = publicOnly.workspace.run_config;
      const applied = await applyDebugOverride(otherApi, { stateDir: fresh().stateDir, kasmUrl: publicOnly.url, imageId: publicOnly.workspace.image_id });
      assert.equal(applied.record!.via, 'public update_image (workspace)');
      assert.match(publicOnly.workspace.run_config, /"KASM_DEBUG":1/);
      assert.equal((await restoreDebugOverride(otherApi, applied.file!)).comparison, 'byte-for-byte');
      assert.equal(publicOnly.workspace.run_config, before);
    } finally {
      await client.close();
      await publicOnly.stop();
    }
  });
});
