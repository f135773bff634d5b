/** Injection tokens of the composition root. */
export const TOKENS = Object.freeze({
  settings: Symbol('WebappSettings'),
  logger: Symbol('Logger'),
  store: Symbol('Store'),
  apiServer: Symbol('ApiServer'),
});
