// GET /openapi.json: the OpenAPI 3.1 description of SPEC §2, written by hand so it documents
// the contract (not whatever the handlers happen to accept).
import { Hono } from 'hono'
import type { AppEnv } from '../app-env.ts'

const problem = { $ref: '#/components/responses/Problem' }
const errors = Object.fromEntries(['400', '401', '403', '404', '413', '415', '429', '502', '503', '504'].map((status) => [status, problem]))
const format = {
  name: 'format',
  in: 'query',
  schema: { type: 'string', enum: ['env', 'dotenv', 'json', 'yaml', 'raw'], default: 'json' },
  description: 'Output format; `Accept` may choose too.',
}
const secretParameters = [
  { name: 'path', in: 'path', required: true, schema: { type: 'string' }, description: 'Vault logical path, e.g. secret/data/myapp/config (KV v2).' },
  format,
  { name: 'role', in: 'query', schema: { type: 'string' }, description: 'Vault role (or header X-Vault-Role); must be one the config rule allows.' },
  { name: 'key', in: 'query', schema: { type: 'string' }, description: 'Comma-separated keys to select; the key for `raw`.' },
  { name: 'prefix', in: 'query', schema: { type: 'string' }, description: 'Prefix for env/dotenv variable names.' },
  { name: 'version', in: 'query', schema: { type: 'integer', minimum: 0 }, description: 'KV v2 version.' },
  { name: 'metadata', in: 'query', schema: { type: 'boolean' }, description: 'KV v2, json/yaml only: answer {"data": {…}, "metadata": {…}}.' },
  { name: 'If-None-Match', in: 'header', schema: { type: 'string' } },
  { name: 'Cache-Control', in: 'header', schema: { type: 'string' }, description: '`no-cache` refreshes this identity\'s entry from Vault (rate limited).' },
]
const secretHeaders = {
  ETag: { schema: { type: 'string' } },
  'X-Cache': { schema: { type: 'string', enum: ['hit', 'miss', 'stale'] } },
  'X-Vault-Lease-Expires': { schema: { type: 'string', format: 'date-time' }, description: 'When a leased secret expires.' },
  'X-Vault-Lease-Duration': { schema: { type: 'integer' }, description: 'Lease duration in seconds, as Vault gave it.' },
  'X-Vault-Secret-Version': { schema: { type: 'integer' }, description: 'KV v2: the version read.' },
  'X-Refresh-After': { schema: { type: 'integer', minimum: 1 }, description: 'Seconds after which a poller should ask again (If-None-Match): when the cached value may next change.' },
}
const rendered = {
  description: 'The secret, rendered.',
  headers: secretHeaders,
  content: {
    'application/json': { schema: { type: 'object', additionalProperties: true } },
    'application/yaml': { schema: { type: 'string' } },
    'text/plain': { schema: { type: 'string' } },
    'application/octet-stream': { schema: { type: 'string', format: 'binary' } },
  },
}

export const OPENAPI_DOCUMENT = {
  openapi: '3.1.0',
  info: { title: 'vault-edge', version: '0.1.0', description: 'Sidecar-free secrets broker: Kubernetes ServiceAccount token in, rendered Vault secret out.' },
  security: [{ serviceAccountToken: [] }],
  paths: {
    '/v1/secrets/{path}': {
      get: { summary: 'Read one Vault path', parameters: secretParameters, responses: { 200: rendered, 304: { description: 'Not modified (If-None-Match).' }, ...errors } },
      post: {
        summary: 'Call an issuing path (e.g. pki/issue/*) that config marks as issuing; never cached',
        parameters: secretParameters.filter((parameter) => ['path', 'format', 'role', 'key', 'prefix'].includes(parameter.name)),
        requestBody: { content: { 'application/json': { schema: { type: 'object' } } } },
        responses: { 200: rendered, ...errors },
      },
    },
    '/v1/bundle': {
      post: {
        summary: 'Several paths in one response, each with a key mapping or prefix',
        parameters: [format],
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/BundleRequest' } } } },
        responses: { 200: rendered, ...errors },
      },
    },
    '/v1/render': {
      post: {
        summary: 'Render a Vault-Agent-style template',
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['template'], properties: { template: { type: 'string' } } } }, 'text/plain': { schema: { type: 'string' } } } },
        responses: { 200: { description: 'The rendered template.', content: { 'text/plain': { schema: { type: 'string' } } } }, ...errors },
      },
    },
    '/healthz': { get: { security: [], summary: 'Liveness', responses: { 200: { description: 'Alive.' } } } },
    '/readyz': { get: { security: [], summary: 'Readiness: Vault reachable, cache state', responses: { 200: { description: 'Ready.' }, 503: { description: 'Not ready.' } } } },
    '/openapi.json': { get: { security: [], summary: 'This document', responses: { 200: { description: 'OpenAPI 3.1.', content: { 'application/json': { schema: { type: 'object' } } } } } } },
    '/metrics': { get: { security: [], summary: 'Prometheus text format (Node and Deno)', responses: { 200: { description: 'Metrics.', content: { 'text/plain': { schema: { type: 'string' } } } } } } },
  },
  components: {
    securitySchemes: { serviceAccountToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A projected Kubernetes ServiceAccount token whose audience is the broker.' } },
    schemas: {
      Problem: {
        type: 'object',
        description: 'RFC 9457 problem details.',
        required: ['type', 'title', 'status', 'code', 'detail', 'requestId'],
        properties: { type: { type: 'string' }, title: { type: 'string' }, status: { type: 'integer' }, code: { type: 'string' }, detail: { type: 'string' }, requestId: { type: 'string' } },
      },
      BundleRequest: {
        type: 'object',
        required: ['secrets'],
        properties: {
          secrets: {
            type: 'array',
            items: {
              type: 'object',
              required: ['path'],
              properties: {
                path: { type: 'string' },
                keys: { type: 'object', additionalProperties: { type: 'string' }, description: 'Output name → key in the secret.' },
                prefix: { type: 'string' },
                version: { type: 'integer' },
              },
            },
          },
        },
      },
    },
    responses: { Problem: { description: 'An error (RFC 9457).', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } } },
  },
} as const

export const openApiRoutes = new Hono<AppEnv>().get('/openapi.json', (c) => c.json(OPENAPI_DOCUMENT))
