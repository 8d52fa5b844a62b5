/** JSON request bodies as text, shared by the HTTP handlers and the worker threads that decode bodies. */
import { BerthError } from '../../core/errors.js';

/** Parses JSON text, turning a syntax error into a 400 that says so. */
export function parseJsonText(text: string): unknown {
  if (text.length === 0) throw new BerthError('BAD_INPUT', 'the body is empty: send a JSON document');
  try {
    return JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new BerthError('BAD_INPUT', `the body is not valid JSON: ${reason}`);
  }
}
