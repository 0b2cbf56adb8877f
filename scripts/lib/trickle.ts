/**
 * A gentle, bounded stream of streaming chat requests for the demo, so that the editor shows traffic
 * at once: about `perSecond` requests a second (random gaps, as real clients send), at most
 * `maxInFlight` at a time, `maxRequests` in all and for `maxMs` at most, to a balancer on loopback.
 * Each reads its stream to the end; failures are counted, not fatal (failover is part of the show).
 */
export interface TrickleOptions {
  /** The balancer, `http://127.0.0.1:<port>`. */
  readonly url: string
  readonly model: string
  readonly perSecond: number
  readonly maxInFlight: number
  readonly maxRequests: number
  readonly maxMs: number
}

export interface Trickle {
  readonly counts: () => { readonly sent: number; readonly ok: number; readonly failed: number }
  /** Stops sending, aborts what is in flight, and resolves once all of it has ended. */
  readonly stop: () => Promise<void>
  /** Resolves when it has stopped: by `stop`, or at one of its bounds once its last requests have ended. */
  readonly done: Promise<void>
}

const PROMPTS = [
  "Explain what a load balancer does in one paragraph.",
  "Write a haiku about GPUs.",
  "List three uses of token streaming.",
  "Summarise the benefits of prefix caching.",
  "Say hello in five languages."
]

export const startTrickle = (options: TrickleOptions): Trickle => {
  if (!new URL(options.url).hostname.match(/^(127\.0\.0\.1|localhost|\[::1\])$/)) {
    throw new Error(`the demo traffic goes to loopback only, not ${options.url}`)
  }
  const controller = new AbortController()
  const inFlight = new Set<Promise<void>>()
  const started = Date.now()
  let sent = 0
  let ok = 0
  let failed = 0
  let timer: NodeJS.Timeout | undefined
  let finish!: () => void
  const done = new Promise<void>((resolve) => (finish = resolve))

  const one = async (n: number) => {
    try {
      const response = await fetch(`${options.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          model: options.model,
          stream: true,
          max_tokens: 16 + Math.floor(Math.random() * 49),
          messages: [{ role: "user", content: `${PROMPTS[n % PROMPTS.length]} (#${n})` }]
        }),
        signal: controller.signal
      })
      // Read to the end of the stream: its tokens are what the editor shows.
      await response.arrayBuffer()
      if (response.ok) ok++
      else failed++
    } catch {
      if (!controller.signal.aborted) failed++
    }
  }

  const ended = () => controller.signal.aborted || sent >= options.maxRequests || Date.now() - started >= options.maxMs

  /** Waits for the requests in flight (all aborted first when `abort`). */
  const end = async (abort: boolean) => {
    clearTimeout(timer)
    if (abort) controller.abort()
    await Promise.allSettled([...inFlight])
    finish()
  }

  const tick = () => {
    if (ended()) return void end(false)
    // At the in-flight bound a tick is skipped: the load stays gentle whatever the upstreams do.
    if (inFlight.size < options.maxInFlight) {
      const request = one(sent++).finally(() => inFlight.delete(request))
      inFlight.add(request)
    }
    // Exponential gaps (Poisson arrivals) averaging 1 / perSecond, capped so the canvas never idles long.
    const gapMs = Math.min(-Math.log(1 - Math.random()) * (1000 / options.perSecond), 3000 / options.perSecond)
    timer = setTimeout(tick, gapMs)
  }
  timer = setTimeout(tick, 0)

  return { counts: () => ({ sent, ok, failed }), stop: () => end(true), done }
}
