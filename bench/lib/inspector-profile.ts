// A CPU profile of a process that listens for the V8 inspector (`deno run --inspect=…`), taken
// over the Chrome DevTools Protocol: Deno has no `--cpu-prof`. The profile is V8's `.cpuprofile`
// format, the same as node --cpu-prof writes (cpu-profile.ts reads both).
import type { CpuProfile } from './cpu-profile.ts'

interface Session {
  call(method: string, params?: Record<string, unknown>): Promise<Record<string, unknown>>
  close(): void
}

async function connect(inspectorUrl: string): Promise<Session> {
  const targets = (await (await fetch(`${inspectorUrl}/json/list`)).json()) as { webSocketDebuggerUrl: string }[]
  if (targets.length === 0) throw new Error(`no inspector target at ${inspectorUrl}`)
  const socket = new WebSocket(targets[0]!.webSocketDebuggerUrl)
  await new Promise((resolve, reject) => {
    socket.addEventListener('open', resolve, { once: true })
    socket.addEventListener('error', () => reject(new Error(`could not connect to ${inspectorUrl}`)), { once: true })
  })
  let nextId = 1
  const pending = new Map<number, { resolve: (result: Record<string, unknown>) => void; reject: (error: Error) => void }>()
  socket.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: Record<string, unknown>; error?: { message: string } }
    const waiter = message.id === undefined ? undefined : pending.get(message.id)
    if (!waiter) return
    pending.delete(message.id!)
    if (message.error) waiter.reject(new Error(message.error.message))
    else waiter.resolve(message.result ?? {})
  })
  return {
    call(method, params = {}) {
      const id = nextId++
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject })
        socket.send(JSON.stringify({ id, method, params }))
      })
    },
    close: () => socket.close(),
  }
}

/** Profiles whatever the process does while `during` runs; samples every `intervalUs` (node's default: 1000). */
export async function profileOverInspector<T>(inspectorUrl: string, during: () => Promise<T>, intervalUs = 1000): Promise<{ profile: CpuProfile; result: T }> {
  const session = await connect(inspectorUrl)
  try {
    await session.call('Profiler.enable')
    await session.call('Profiler.setSamplingInterval', { interval: intervalUs })
    await session.call('Profiler.start')
    const result = await during()
    const { profile } = (await session.call('Profiler.stop')) as { profile: CpuProfile }
    return { profile, result }
  } finally {
    session.close()
  }
}
