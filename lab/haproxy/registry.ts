// Which lab runs real HAProxy: the host commands (systemctl, socat, haproxy) find a world's LabHaproxy here,
// so the world model itself needs no field for it. Type-only imports: the SSH command table stays light.
import type { World } from '../world.js';
import type { LabHaproxy } from './process.js';

const running = new WeakMap<World, LabHaproxy>();
const unavailable = new WeakMap<World, string>();

/** Registers the real HAProxy of a world (or why it has none: the packages to install). */
export function attachHaproxy(world: World, lb: LabHaproxy | { unavailable: string }): void {
  if ('unavailable' in lb) unavailable.set(world, lb.unavailable);
  else running.set(world, lb);
}

/** Forgets a world's HAProxy (lab stop). */
export function detachHaproxy(world: World): void {
  running.delete(world);
}

/** The real HAProxy of a world, if it runs one. */
export function haproxyOf(world: World): LabHaproxy | undefined {
  return running.get(world);
}

/** Why a world runs no real HAProxy, when it wanted to. */
export function haproxyUnavailable(world: World): string | undefined {
  return unavailable.get(world);
}
