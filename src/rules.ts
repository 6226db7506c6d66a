// SPEC §7 rules: identity → Vault role + the path globs it may ask for. Checked before Vault is
// called; Vault policies still have the final word.
import type { RuleConfig } from './config.ts'
import { badRequest, forbidden } from './errors.ts'
import type { Identity } from './identity/identity.ts'

export interface Access {
  role: string
  rule: RuleConfig
}

/**
 * `*` matches any run of characters, `/` included, as in Vault policy paths. Matched by walking
 * both strings and backtracking only to the last `*` (at worst pattern × value steps): as a regex,
 * each `*` became `.*`, and a pattern with several of them backtracked polynomially in the path a
 * caller sends (a pattern with four `*` segments against a 500-character path took 3.6 s).
 */
export function matchesGlob(pattern: string, value: string): boolean {
  let p = 0
  let v = 0
  let star = -1
  let resume = 0
  while (v < value.length) {
    if (p < pattern.length && pattern[p] === '*') {
      star = p++
      resume = v
    } else if (p < pattern.length && pattern[p] === value[v]) {
      p++
      v++
    } else if (star !== -1) {
      // Let the last `*` take one more character and try the rest again from there.
      p = star + 1
      v = ++resume
    } else {
      return false
    }
  }
  while (pattern[p] === '*') p++
  return p === pattern.length
}

const MAX_PATH_LENGTH = 512

/**
 * A Vault logical path as a caller may name it: segments of printable characters, no `.`/`..`
 * (Vault would clean them and so step outside the glob the rule checked), no empty segment.
 * The path Vault receives must be exactly the path the rules checked, so nothing the URL parser
 * rewrites in `{address}/v1/{path}` may pass either (WHATWG URL): a trailing space is stripped
 * (`secret/data/app/.. ` would reach Vault as `secret/data/`), and a lone surrogate becomes U+FFFD.
 */
export function validateSecretPath(path: string): string {
  if (path.length === 0) throw badRequest('A secret path is required, e.g. secret/data/myapp/config.', 'invalid_path')
  if (path.length > MAX_PATH_LENGTH) throw badRequest(`The secret path is longer than ${MAX_PATH_LENGTH} characters.`, 'invalid_path')
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f?#%\\]|[\uD800-\uDFFF]| $/u.test(path)) throw badRequest('The secret path has a character Vault paths cannot hold.', 'invalid_path')
  const segments = path.split('/')
  if (segments.some((segment) => segment === '' || segment === '.' || segment === '..')) {
    throw badRequest('The secret path has an empty, "." or ".." segment.', 'invalid_path')
  }
  return path
}

const fillRole = (template: string, identity: Identity) =>
  template
    .replaceAll('{cluster}', identity.cluster)
    .replaceAll('{namespace}', identity.namespace)
    .replaceAll('{serviceAccount}', identity.serviceAccount)

/** First matching rule wins (SPEC §7). */
export function findRule(rules: RuleConfig[], identity: Identity): RuleConfig | undefined {
  return rules.find(
    (rule) =>
      matchesGlob(rule.cluster, identity.cluster) &&
      matchesGlob(rule.namespace, identity.namespace) &&
      matchesGlob(rule.serviceAccount, identity.serviceAccount),
  )
}

/**
 * The rule and role of an identity depend on nothing else: remembered per identity object (the
 * verified-token memo hands the same one to every read with that token), so a cached read skips
 * the globs and the role template (issue 9 profile: ~2 % of a hit on Node).
 */
const rulesSeen = new WeakMap<RuleConfig[], WeakMap<Identity, { rule?: RuleConfig; role: string }>>()

function ruleAndRoleOf(rules: RuleConfig[], identity: Identity): { rule?: RuleConfig; role: string } {
  let byIdentity = rulesSeen.get(rules)
  if (byIdentity === undefined) rulesSeen.set(rules, (byIdentity = new WeakMap()))
  let found = byIdentity.get(identity)
  if (found === undefined) {
    const rule = findRule(rules, identity)
    found = { rule, role: rule ? fillRole(rule.role, identity) : '' }
    byIdentity.set(identity, found)
  }
  return found
}

export function resolveAccess(
  rules: RuleConfig[],
  identity: Identity,
  path: string,
  options: { method: 'GET' | 'POST'; requestedRole?: string },
): Access {
  const { rule, role } = ruleAndRoleOf(rules, identity)
  if (!rule) throw forbidden('No rule grants this service account any secret.', 'no matching rule')
  const patterns = options.method === 'POST' ? rule.issuingPaths : rule.paths
  if (!patterns.some((pattern) => matchesGlob(pattern, path))) {
    throw forbidden(
      options.method === 'POST' ? 'This path is not an issuing path for this service account.' : 'This path is not allowed for this service account.',
      'path outside the rule',
    )
  }
  if (options.requestedRole === undefined || options.requestedRole === role) return { role, rule }
  // A caller may pick a role (`?role=`), but only one its rule lists: the rule is the boundary,
  // and Vault checks the role's bound claims again at login.
  if (!rule.roles.some((template) => fillRole(template, identity) === options.requestedRole)) {
    throw forbidden('This role is not allowed for this service account.', 'requested role not in the rule')
  }
  return { role: options.requestedRole, rule }
}
