/**
 * The Python runtime: scoring scripts written for Azure ML (`score.py` with init() and run()),
 * run in worker processes by python/berth_worker.py with berth's Azure compatibility package
 * (python/compat) on their path. See python/README.md for the protocol and the covered APIs.
 */
export { createPythonEngine, isPythonScript, pythonRoot } from './engine.js';
export { choosePython, PYTHON_ENV, type PythonChoice } from '../../../core/python-interpreter.js';
export { azureModelDir } from './layout.js';
