/**
 * A Python script's requirements for the container image: requirements.txt and conda files are
 * read into project names, and each maps to the installed Debian package that holds it (read from
 * this machine's dpkg database); one that none provides is an error naming it.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { hasErrorCode } from '../../src/core/errors.js';
import { readDebianDatabase } from '../../src/targets/container/debian-packages.js';
import {
  debianPackagesFor,
  readCondaFile,
  readRequirementsFile,
} from '../../src/targets/container/python-requirements.js';
import { pythonMissing } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-python-requirements-'));
const file = (name: string, text: string): string => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};

describe('Python requirements as Debian packages', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads requirements.txt: names, extras, versions and markers; comments skipped', () => {
    const read = readRequirementsFile(
      file(
        'requirements.txt',
        '# top\nnumpy>=1.20  # inline\n\nscikit-learn[alldeps] == 1.2 ; python_version>"3"\nPyYAML\n',
      ),
    );
    assert.deepEqual(
      read.map(({ name, specifier, where }) => [name, specifier, where]),
      [
        ['numpy', '>=1.20', 'requirements.txt:2'],
        ['scikit-learn', '==1.2', 'requirements.txt:4'],
        ['PyYAML', '', 'requirements.txt:5'],
      ],
    );
  });

  it('refuses what would need a download: URLs, -e, -r', () => {
    for (const line of ['-e ./pkg', '-r other.txt', 'torch @ https://example.com/torch.whl']) {
      assert.throws(
        () => readRequirementsFile(file('bad.txt', `${line}\n`)),
        (error: unknown) =>
          hasErrorCode(error, 'INVALID_SPEC') && /nothing can be downloaded/.test(String(error)),
        line,
      );
    }
  });

  it("reads a conda file's dependencies, its pip list included", () => {
    const read = readCondaFile(
      file(
        'conda.yml',
        'name: env\nchannels: [conda-forge]\ndependencies:\n  - python=3.11\n  - conda-forge::numpy=1.24\n  - pip\n  - pip:\n      - azureml-defaults\n      - joblib>=1.0\n',
      ),
      'conda.yml',
    );
    assert.deepEqual(
      read.map(({ name, specifier, where }) => [name, specifier, where]),
      [
        ['python', '==3.11', 'conda.yml: dependencies[0]'],
        ['numpy', '==1.24', 'conda.yml: dependencies[1]'],
        ['pip', '', 'conda.yml: dependencies[2]'],
        ['azureml-defaults', '', 'conda.yml: dependencies[3].pip[0]'],
        ['joblib', '>=1.0', 'conda.yml: dependencies[3].pip[1]'],
      ],
    );
  });

  const noDebian = existsSync('/var/lib/dpkg/status') ? pythonMissing : 'not a Debian machine';

  it(
    "maps names to this machine's Debian packages, warns about versions and what berth provides",
    { skip: noDebian },
    () => {
      const database = readDebianDatabase();
      const mapped = debianPackagesFor(
        readCondaFile(
          file(
            'env.yml',
            'dependencies:\n  - python=3.11\n  - pip:\n      - scikit-learn==9.9\n      - numpy\n      - inference-schema\n',
          ),
          'env.yml',
        ),
        database,
      );
      assert.deepEqual(mapped.packages, ['python3-numpy', 'python3-sklearn']);
      assert.equal(mapped.warnings.length, 3, mapped.warnings.join('\n'));
      assert.match(mapped.warnings.join('\n'), /scikit-learn==9\.9: Debian's python3-sklearn \S+ is used/);
      assert.match(
        mapped.warnings.join('\n'),
        /inference-schema is not installed: berth's Azure compatibility package/,
      );
      assert.throws(
        () =>
          debianPackagesFor(readRequirementsFile(file('r.txt', 'numpy\nnot-a-real-project-x\n')), database),
        (error: unknown) =>
          hasErrorCode(error, 'INVALID_SPEC') &&
          /requirements\.txt:2: not-a-real-project-x: Debian package python3-not-a-real-project-x is not installed on this machine \(apt-get install python3-not-a-real-project-x\)/.test(
            (error as Error).message,
          ),
      );
    },
  );
});
