// Rolling back: a new revision that copies the target's objects (like Helm, "Rollback to N"), applied against
// the live set (so whatever the failed revision added is pruned), waited for, then marked deployed.
import type { KObject } from './objects.js';
import { type Release, latestRevision } from './release.js';
import { type Env, applyRevision, pruneHistory, setStatus } from './revision.js';
import { writeRelease } from './state.js';

/** Rolls back to `target` as a new revision; returns the new revision's record (deployed). */
export async function rollbackTo(env: Env, releases: Release[], target: Release, reason: string, live: ReadonlyMap<string, KObject>): Promise<Release> {
  const { ctx } = env;
  const key = `${env.memoPrefix ?? ''}${env.component}:rollback to ${target.revision}`;
  const revision = ctx.recall<number>(key) ?? latestRevision(releases) + 1;
  ctx.remember(key, revision);
  const release: Release = {
    ...target,
    revision,
    status: 'pending',
    who: `${ctx.audit.operator}@${ctx.audit.host}`,
    when: new Date(ctx.clock.now()).toISOString(),
    reason: ctx.reason ?? reason,
    runId: ctx.runId,
    description: `Rollback to ${target.revision}`,
    tests: undefined,
    notes: [reason],
  };
  await ctx.step(`record revision ${revision} of ${env.component} pending (rollback to ${target.revision})`, {
    apply: async () => (await writeRelease(env.kube, release), true),
  });
  releases.push(release);
  try {
    await applyRevision(env, target.objects, live);
  } catch (err) {
    await setStatus(env, releases, release, 'failed', `rollback failed: ${(err as Error).message}`);
    throw err;
  }
  await setStatus(env, releases, release, 'deployed');
  await pruneHistory(env, releases);
  return release;
}
