/**
 * Panel state lives in slices of one page store: each slice has a plain state shape and an action
 * factory `(api, state, set, notify)`, where `set` is a setter scoped to the slice. `sliceSetter`
 * makes that scoped setter from the page store's root setter, so the editor can compose the slices
 * into its own store as easily as the panels' store does.
 */
import type { SetStoreFunction } from "solid-js/store"
import { ApiError } from "../../api/index.js"

/** The setter of `root[key]`, typed as the slice's own store setter. */
export const sliceSetter = <Root, K extends keyof Root>(set: SetStoreFunction<Root>, key: K): SetStoreFunction<Root[K]> =>
  // Solid's path setters are variadic overloads: forwarding the arguments after the key is exactly a scoped setter.
  ((...args: Array<unknown>) => (set as (...args: Array<unknown>) => void)(key, ...args)) as SetStoreFunction<Root[K]>

export type Notify = (message: string, kind: "info" | "success" | "warning" | "error") => void

export const asApiError = (error: unknown): ApiError =>
  error instanceof ApiError ? error : new ApiError({ status: 0, message: error instanceof Error ? error.message : String(error) })
