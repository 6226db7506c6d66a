// Bounded Maps that forget their oldest entries (Map keeps insertion order) a tenth at a time.
//
// Why not one at a time: V8 leaves a deleted entry's slot in the table until the table is
// rebuilt, and every new iterator walks over those slots. Deleting the oldest entry on each insert
// (`map.delete(map.keys().next().value)`) therefore walks over everything deleted since the last
// rebuild: 5.6 µs an insert at 10,000 entries, against 0.17 µs with a tenth at once (issue 9:
// found in the profile of cached reads with new tokens, where the verified-token memo was full).

/** Deletes the oldest entries until at most `keep` are left, walking the Map once. */
export function trimOldest<K, V>(map: Map<K, V>, keep: number): void {
  let excess = map.size - Math.max(0, keep)
  if (excess <= 0) return
  for (const key of map.keys()) {
    map.delete(key)
    if (--excess === 0) return
  }
}

/** How many entries a full Map of `maxEntries` keeps: a tenth fewer, so the next inserts are free. */
export const keptWhenFull = (maxEntries: number): number => maxEntries - Math.ceil(maxEntries / 10)

/** Before an insert: when the Map holds `maxEntries`, the oldest tenth goes. */
export function makeRoom<K, V>(map: Map<K, V>, maxEntries: number): void {
  if (map.size >= maxEntries) trimOldest(map, keptWhenFull(maxEntries))
}
