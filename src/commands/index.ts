import { registerConfig } from './config/command.js';
import { registerLogin } from './login/command.js';
import { registerLogout } from './logout/command.js';
import { registerSample } from './sample/command.js';
import { registerSandbox } from './sandbox/command.js';
import { registerStatus } from './status/command.js';
import type { RegisterCommand } from './types.js';
import { registerUpload } from './upload/command.js';
import { registerUsers } from './users/command.js';
import { registerValidate } from './validate/command.js';
import { registerWhoami } from './whoami/command.js';

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
  registerSample,
  registerSandbox,
];
