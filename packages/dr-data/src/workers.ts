/**
 * Runs `work` on `workers` workers at once, each taking the next of `items` in their order until none is left;
 * worker `i` is handed its index (its own connection, its own cursor). Rejects with the first failure, as
 * `Promise.all` does: the callers name the item in the error they throw.
 */
export async function onWorkers<T>(
  items: readonly T[],
  workers: number,
  work: (item: T, worker: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (i: number): Promise<void> => {
    while (next < items.length) await work(items[next++]!, i);
  };
  await Promise.all(Array.from({ length: workers }, (_, i) => worker(i)));
}
