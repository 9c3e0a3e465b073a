/**
 * zod, as every module here imports it. Under tsx (tests) this is the package itself; the build replaces
 * dist/vendor/zod.js with zod bundled into one file (`npm run build:vendor`): loaded from its ~100
 * modules, resolving and compiling them is the largest part of a backend command's start-up (whoami,
 * status), and one file is read and compiled at a fraction of that cost.
 */
export { z } from 'zod';
