export { builtinAdapters } from './builtin.js';
