import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { choosePython, PYTHON_ENV } from './python-interpreter.js';

describe('choosing the Python interpreter', () => {
  it('takes the option first, then the environment variable, and says why', () => {
    assert.deepEqual(choosePython('/opt/py/bin/python3', { [PYTHON_ENV]: '/env/python' }), {
      path: '/opt/py/bin/python3',
      source: 'the python option',
    });
    assert.deepEqual(choosePython(undefined, { [PYTHON_ENV]: '/env/python' }), {
      path: '/env/python',
      source: '$BERTH_PYTHON',
    });
  });

  it('falls back to /usr/bin/python3 when it imports numpy, else python3 from PATH', () => {
    const systemHasNumpy = spawnSync('/usr/bin/python3', ['-c', 'import numpy']).status === 0;
    const chosen = choosePython(undefined, {});
    if (systemHasNumpy) assert.deepEqual(chosen, { path: '/usr/bin/python3', source: 'it imports numpy' });
    else assert.equal(chosen.path, 'python3');
    assert.deepEqual(choosePython('', {}), chosen, 'an empty option counts as none');
  });
});
