/**
 * Percentage-mode bookkeeping per incoming block: each endpoint's tokens over the last
 * LB_QUOTA_WINDOW_SECONDS plus what its in-flight requests reserved, and the average request size
 * that bounds a returning endpoint's catch-up.
 */
import { SlidingWindow } from "@llmlb/core"
import { Effect } from "effect"
import { LbConfig } from "../Config.js"

/** A returning endpoint's deficit counts for at most this many average requests. */
export const CATCH_UP_REQUESTS = 3

class BlockShares {
  readonly windows = new Map<string, SlidingWindow>()
  readonly reserved = new Map<string, number>()
  /** Endpoints that were available at the previous pick; a newcomer is a "returning" endpoint. */
  present = new Set<string>()
  averageRequest = 0
}

export class TokenShares extends Effect.Service<TokenShares>()("TokenShares", {
  effect: Effect.gen(function*() {
    const { quotaWindowSeconds } = yield* LbConfig
    const clock = yield* Effect.clock
    const blocks = new Map<string, BlockShares>()

    const block = (blockId: string) => {
      let shares = blocks.get(blockId)
      if (shares === undefined) {
        shares = new BlockShares()
        blocks.set(blockId, shares)
      }
      return shares
    }

    const window = (shares: BlockShares, endpointId: string) => {
      let w = shares.windows.get(endpointId)
      if (w === undefined) {
        w = new SlidingWindow(quotaWindowSeconds)
        shares.windows.set(endpointId, w)
      }
      return w
    }

    return {
      block,
      /** Window tokens plus reservations of one endpoint in one block. */
      tokens: (shares: BlockShares, endpointId: string) =>
        (shares.windows.get(endpointId)?.sum(clock.unsafeCurrentTimeMillis()) ?? 0) + (shares.reserved.get(endpointId) ?? 0),
      /** Counts tokens the endpoint did not serve, so it does not catch up on them. */
      credit: (shares: BlockShares, endpointId: string, tokens: number) =>
        window(shares, endpointId).add(clock.unsafeCurrentTimeMillis(), tokens),
      reserve: (shares: BlockShares, endpointId: string, tokens: number) => {
        shares.reserved.set(endpointId, (shares.reserved.get(endpointId) ?? 0) + tokens)
        if (shares.averageRequest === 0) shares.averageRequest = tokens
      },
      /** Replaces a reservation with what the request really used (0 when it failed). */
      settle: (shares: BlockShares, endpointId: string, reserved: number, used: number) => {
        const left = (shares.reserved.get(endpointId) ?? 0) - reserved
        if (left > 0) shares.reserved.set(endpointId, left)
        else shares.reserved.delete(endpointId)
        if (used > 0) {
          window(shares, endpointId).add(clock.unsafeCurrentTimeMillis(), used)
          shares.averageRequest += (used - shares.averageRequest) * 0.1
        }
      },
      /** Forgets blocks and endpoints that no longer exist. */
      retain: (blockIds: ReadonlySet<string>, endpointIds: ReadonlySet<string>) => {
        for (const [blockId, shares] of blocks) {
          if (!blockIds.has(blockId)) {
            blocks.delete(blockId)
            continue
          }
          for (const id of shares.windows.keys()) if (!endpointIds.has(id)) shares.windows.delete(id)
        }
      },
      /** reset-stats: the windows start over (reservations of requests still in flight stay). */
      reset: () => {
        for (const shares of blocks.values()) {
          shares.windows.clear()
          shares.averageRequest = 0
        }
      }
    } as const
  })
}) {}

export type { BlockShares }
