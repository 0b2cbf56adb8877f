/**
 * Test support for the API layer in Node: an EventSource over fetch (Node 20 has none; browsers use
 * their own), a free loopback port, a condition waiter, and an in-memory sessionStorage.
 */
import type { EventSourceLike } from "../src/api/index.js"

// One free-port finder for every test that starts a server on loopback.
export { freePort } from "../../balancer/test/support/Engines.js"

/** The part of the EventSource protocol the admin stream uses: `data:` lines, blank-line separated events. */
export class NodeEventSource implements EventSourceLike {
  onopen: ((event: Event) => void) | null = null
  onmessage: ((event: MessageEvent<string>) => void) | null = null
  onerror: ((event: Event) => void) | null = null
  readonly url: string
  private readonly controller = new AbortController()
  private closed = false

  constructor(url: string) {
    this.url = url
    void this.run()
  }

  close() {
    this.closed = true
    this.controller.abort()
  }

  private fail() {
    if (!this.closed) this.onerror?.(new Event("error"))
  }

  private async run() {
    try {
      const response = await fetch(this.url, { signal: this.controller.signal, headers: { accept: "text/event-stream" } })
      if (!response.ok || response.body === null) return this.fail()
      this.onopen?.(new Event("open"))
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
      let buffered = ""
      for (;;) {
        const chunk = await reader.read()
        if (chunk.done) return this.fail()
        buffered += chunk.value
        for (let end = buffered.indexOf("\n\n"); end >= 0; end = buffered.indexOf("\n\n")) {
          const block = buffered.slice(0, end)
          buffered = buffered.slice(end + 2)
          const data = block.split("\n").filter((line) => line.startsWith("data:")).map((line) => line.slice(5).trimStart())
          if (data.length > 0 && !this.closed) this.onmessage?.(new MessageEvent("message", { data: data.join("\n") }))
        }
      }
    } catch {
      this.fail()
    }
  }
}

/** Resolves once `condition` holds, polling every 20 ms; rejects after `ms` with `what`. */
export const waitFor = async (what: string, condition: () => boolean, ms = 10_000) => {
  const deadline = Date.now() + ms
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

export const memoryStorage = (initial: Record<string, string> = {}) => {
  const items = new Map(Object.entries(initial))
  return {
    getItem: (key: string) => items.get(key) ?? null,
    setItem: (key: string, value: string) => void items.set(key, value),
    removeItem: (key: string) => void items.delete(key),
    items
  }
}
