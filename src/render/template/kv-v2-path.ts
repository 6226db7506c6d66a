// Vault Agent reads `secret "secret/myapp/config"` from a KV v2 mount as
// `secret/data/myapp/config`: consul-template asks `sys/internal/ui/mounts/<path>` for the mount
// and, when it is KV v2, inserts `data/` unless the path already says data/ or metadata/
// (dependency/vault_common.go, shimKVv2Path). This is that rewrite; the route does the lookup.

/** What `GET sys/internal/ui/mounts/<path>` answers under `data`. */
export interface MountInfo {
  type?: unknown
  path?: unknown
  options?: { version?: unknown } | null
}

/** Could `path` need the rewrite? Only then is the mount looked up. */
export const mayNeedKvV2Data = (path: string): boolean => {
  const segments = path.split('/')
  return segments.length >= 2 && segments[1] !== 'data' && segments[1] !== 'metadata'
}

/** The API path Vault Agent would read for `path`, given its mount. */
export function shimKvV2Path(path: string, mount: MountInfo | undefined): string {
  if (!mount || mount.type !== 'kv' || String(mount.options?.version) !== '2' || typeof mount.path !== 'string') return path
  const mountPath = mount.path.endsWith('/') ? mount.path : `${mount.path}/`
  if (path === mountPath.slice(0, -1)) return `${mountPath}data`
  if (!path.startsWith(mountPath)) return path
  const rest = path.slice(mountPath.length)
  if (rest.startsWith('data/') || rest.startsWith('metadata/')) return path
  return `${mountPath}data/${rest}`
}
