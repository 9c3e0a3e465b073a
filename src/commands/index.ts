import { registerConfig } from './config.js';
import { registerLogin } from './login.js';
import { registerLogout } from './logout.js';
import { registerSandbox } from './sandbox.js';
import { registerStatus } from './status.js';
import type { RegisterCommand } from './types.js';
import { registerUpload } from './upload.js';
import { registerUsers } from './users.js';
import { registerValidate } from './validate.js';
import { registerWhoami } from './whoami.js';

/**
 * Every top-level command, in help order. These modules only describe the commands (names, flags, help);
 * each action imports its command's body, so `--help` and `--version` load neither the bodies nor their
 * dependencies (undici, zod, conf, ora, cli-progress, core).
 */
export const COMMANDS: RegisterCommand[] = [
  registerLogin,
  registerLogout,
  registerWhoami,
  registerConfig,
  registerUsers,
  registerValidate,
  registerUpload,
  registerStatus,
  registerSandbox,
];
