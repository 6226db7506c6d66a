// GET /metrics in the Prometheus text format (SPEC §2; Node and Deno).
import { Hono } from 'hono'
import type { AppEnv } from '../app-env.ts'

export const metricsRoutes = new Hono<AppEnv>().get('/metrics', (c) => {
  c.header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  return c.body(c.get('services').metrics?.render() ?? '')
})
