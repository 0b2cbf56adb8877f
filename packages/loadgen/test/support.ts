import { startSim, type StartOptions, type UpstreamSim } from "@llmlb/upstream-sim"
import { Effect, Either } from "effect"
import { onTestFinished } from "vitest"
import type { RequestRecord } from "../src/Records.js"
import { runLoad, type RunOptions, type RunResult } from "../src/Run.js"
import { decodeSettings, type RunSettings } from "../src/Settings.js"

/** A simulator for one test, closed when the test ends. */
export const useSim = async (options: StartOptions = {}): Promise<UpstreamSim> => {
  const sim = await startSim(options)
  onTestFinished(() => sim.close())
  return sim
}

export const settings = (encoded: Record<string, unknown>): RunSettings => {
  const decoded = decodeSettings(encoded)
  if (Either.isLeft(decoded)) throw new Error(decoded.left)
  return decoded.right
}

/** Runs a load; also returns every record (warm-up included) in the order they finished. */
export const run = async (
  encoded: Record<string, unknown>,
  options: RunOptions = {}
): Promise<RunResult & { readonly records: ReadonlyArray<RequestRecord> }> => {
  const records: Array<RequestRecord> = []
  const result = await Effect.runPromise(
    runLoad(settings(encoded), {
      ...options,
      onRequest: (r) => {
        records.push(r)
        options.onRequest?.(r)
      }
    })
  )
  return { ...result, records }
}

/** Polls `check` until it holds; fails after `timeoutMs` (waits on a shared machine are events, not sleeps). */
export const until = async (check: () => boolean, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time")
    await new Promise((r) => setTimeout(r, 20))
  }
}
