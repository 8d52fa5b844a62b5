/**
 * What every runner does before the command starts, wherever it runs: the working folder's
 * `outputs/` (one folder per named output) and `logs/`, the run history's `tables/` and `images/`,
 * and the two logging modules (`berth_run` for Python, `berth-run` for Node) beside the code, plus
 * the environment each rank gets. Paths are given as the command will see them, so a container
 * passes its own mount points and a local runner the host's.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { nodeModuleFiles } from './node-module.js';
import { pythonModuleName, pythonModuleSource } from './python-module.js';
import type { RunFolder } from './run-folder.js';

/** Creates the folders and writes the logging modules. */
export async function prepareWorkDir(folder: RunFolder, outputNames: readonly string[]): Promise<void> {
  await mkdir(join(folder.workDir, 'logs'), { recursive: true });
  await mkdir(folder.outputsDir, { recursive: true });
  for (const name of outputNames) await mkdir(join(folder.outputsDir, name), { recursive: true });
  await mkdir(join(folder.historyDir, 'tables'), { recursive: true });
  await mkdir(join(folder.historyDir, 'images'), { recursive: true });
  const pythonDir = join(folder.dir, 'sdk', 'python');
  await mkdir(pythonDir, { recursive: true });
  await writeFile(join(pythonDir, `${pythonModuleName}.py`), pythonModuleSource);
  // `import { run } from 'berth-run'` from the code resolves here: node looks in the
  // node_modules folder of each parent of the importing file, and the code is `<run>/code`.
  for (const [path, text] of Object.entries(nodeModuleFiles)) {
    const target = join(folder.dir, 'node_modules', 'berth-run', path);
    await mkdir(join(target, '..'), { recursive: true });
    await writeFile(target, text);
  }
}

/** The run folder's paths as the command sees them (the host's, or a container's mount points). */
export interface RunPaths {
  runDir: string;
  /** Where the run's metrics, tables and images go. */
  metricsFile: string;
  historyDir: string;
  outputsDir: string;
}

export function hostPaths(folder: RunFolder): RunPaths {
  return {
    runDir: folder.dir,
    metricsFile: folder.metricsFile,
    historyDir: folder.historyDir,
    outputsDir: folder.outputsDir,
  };
}

export interface RankPlace {
  rank: number;
  worldSize: number;
  /** The rank among the processes on its machine. */
  localRank: number;
  localWorldSize: number;
  nodeRank: number;
  masterAddr: string;
  masterPort: number;
}

/**
 * The environment of one rank: berth's own variables (the SDKs read them), the names PyTorch's
 * distributed launcher sets, and Azure ML's task index (`AZ_BATCHAI_TASK_INDEX`, the rank here).
 * MPI's variables are left out on purpose: an MPI library that sees them expects its own launcher.
 */
export function rankEnvironment(runId: string, paths: RunPaths, place: RankPlace): Record<string, string> {
  return {
    BERTH_RUN_ID: runId,
    BERTH_RUN_METRICS: paths.metricsFile,
    BERTH_RUN_HISTORY: paths.historyDir,
    BERTH_OUTPUTS_DIR: paths.outputsDir,
    AZUREML_RUN_ID: runId,
    RANK: String(place.rank),
    LOCAL_RANK: String(place.localRank),
    WORLD_SIZE: String(place.worldSize),
    LOCAL_WORLD_SIZE: String(place.localWorldSize),
    NODE_RANK: String(place.nodeRank),
    GROUP_RANK: String(place.nodeRank),
    MASTER_ADDR: place.masterAddr,
    MASTER_PORT: String(place.masterPort),
    AZ_BATCHAI_TASK_INDEX: String(place.rank),
    PYTHONUNBUFFERED: '1',
  };
}
