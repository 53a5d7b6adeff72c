// One bounded-concurrency map for the whole code base: N workers take items from a shared queue, so at most
// `limit` calls run at once and a slow item never holds back the others (unlike fixed batches).

/**
 * Calls `fn` for every item with at most `limit` calls in flight; resolves to the results in the items' order.
 * A rejection rejects the whole map (after the calls in flight settle is not waited for: catch inside `fn` to
 * collect per-item failures instead).
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < items.length; i = next++) results[i] = await fn(items[i]!, i);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(Math.floor(limit) || 1, items.length)) }, worker));
  return results;
}
