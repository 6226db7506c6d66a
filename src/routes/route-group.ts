// The route group of a request path, for metrics labels and audit lines: route groups, not paths,
// since a path label would grow without bound and name secrets.

/** `/v1/secrets/a/b` → `/v1/secrets`; paths outside /v1/ as they are (split('/', 3).join('/') without the arrays: per request). */
export function routeGroupOf(path: string): string {
  if (!path.startsWith('/v1/')) return path
  const cut = path.indexOf('/', 4)
  return cut === -1 ? path : path.slice(0, cut)
}
