// The lab shell's command table: every command a lab host knows, by name. Anything else is
// `bash: NAME: command not found` (exit 127).
import type { CommandSpec } from '../interpreter.js';
import { aptCommands } from './apt.js';
import { basicCommands } from './basic.js';
import { etcdCommands } from './etcd.js';
import { haproxyCommands } from './haproxy.js';
import { kubeCommands } from './kubeadm.js';
import { systemdCommands } from './systemd.js';

/** Commands by name. */
export const commands: Record<string, CommandSpec> = Object.assign(Object.create(null) as Record<string, CommandSpec>, {
  ...basicCommands,
  ...systemdCommands,
  ...aptCommands,
  ...kubeCommands,
  ...etcdCommands,
  ...haproxyCommands,
});
