// Types for the ESM entry point (index.mjs): the same API, plus a default export.
import * as sdfd from './index.js';

export * from './index.js';
export default sdfd;
