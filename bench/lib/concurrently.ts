/** Runs `run` over `items`, at most `width` at a time, in order of start; rejects on the first failure. */
export async function inBatches<T>(items: T[], width: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, async () => {
    while (next < items.length) await run(items[next++]!)
  }))
}
