/**
 * The live feed of runs: every message goes to every connected WebSocket client at once. Plain callbacks:
 * a point a second per run and an event now and then, serialised once for all listeners.
 */
import type { Producer } from "@llmlb/api"
import { Effect } from "effect"

export type Listener = (json: string) => void

export class LiveHub extends Effect.Service<LiveHub>()("LiveHub", {
  sync: () => {
    const listeners = new Set<Listener>()
    return {
      publish: (message: Producer.LiveMessage): void => {
        if (listeners.size === 0) return
        const json = JSON.stringify(message)
        for (const listener of listeners) listener(json)
      },
      /** Returns the unsubscribe function. */
      subscribe: (listener: Listener): (() => void) => {
        listeners.add(listener)
        return () => listeners.delete(listener)
      },
      listeners: () => listeners.size
    } as const
  }
}) {}
