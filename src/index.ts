export { BerthError } from './core/errors.js';
