// The problems parseConfig names for an environment, for tests that pin them (config and settings).
import assert from 'node:assert/strict';
import { ConfigError, parseConfig } from '../../helpers/config.ts';

export function problems(variables: Record<string, string>): string[] {
  try {
    parseConfig(variables);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.problems;
  }
  assert.fail('expected a ConfigError');
}
