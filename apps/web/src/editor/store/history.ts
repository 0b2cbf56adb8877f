/**
 * Undo / redo of editor edits. Each entry undoes and redoes itself with real API calls. Deleting and
 * re-creating something gives it a new id, so entries name things by their first id and resolve it
 * through `ids` when they run. Runs are serialised: pressing Ctrl+Z three times undoes three edits
 * in order, and each waits for the edits still in flight (Ctrl+Z right after Delete undoes that delete,
 * even when its answer has not arrived yet).
 */
export interface IdMap {
  /** The current id of what was first known by `id`. */
  readonly resolve: (id: string) => string
  /** Record that what was known by `oldId` is now `newId`. */
  readonly remap: (oldId: string, newId: string) => void
}

export interface Command {
  readonly label: string
  readonly undo: (ids: IdMap) => Promise<unknown>
  readonly redo: (ids: IdMap) => Promise<unknown>
}

export interface History {
  readonly push: (command: Command) => void
  /** Runs an edit that may push; undo and redo started meanwhile wait for it to end. */
  readonly edit: <A>(run: () => Promise<A>) => Promise<A>
  /** Undoes the latest edit; false when there was none. A failed undo stays on the undo stack. */
  readonly undo: () => Promise<boolean>
  readonly redo: () => Promise<boolean>
  readonly ids: IdMap
  readonly sizes: () => { readonly undo: number; readonly redo: number }
}

export const createHistory = (onChange: (sizes: { undo: number; redo: number }) => void, limit = 200): History => {
  const past: Array<Command> = []
  const future: Array<Command> = []
  const aliases = new Map<string, string>()
  let tail: Promise<unknown> = Promise.resolve()

  const ids: IdMap = {
    resolve: (id) => {
      let current = id
      // follows chains (deleted, restored, deleted and restored again), bounded against cycles
      for (let i = 0; i < 64; i++) {
        const next = aliases.get(current)
        if (next === undefined) return current
        current = next
      }
      return current
    },
    remap: (oldId, newId) => {
      if (oldId !== newId) aliases.set(ids.resolve(oldId), newId)
    }
  }
  const sizes = () => ({ undo: past.length, redo: future.length })
  const changed = () => onChange(sizes())

  const step = (from: Array<Command>, to: Array<Command>, run: (c: Command) => Promise<unknown>) => {
    const result = tail.then(async () => {
      const command = from.pop()
      if (command === undefined) return false
      changed()
      try {
        await run(command)
      } catch (error) {
        from.push(command)
        changed()
        throw error
      }
      to.push(command)
      changed()
      return true
    })
    tail = result.catch(() => undefined)
    return result
  }

  return {
    push: (command) => {
      past.push(command)
      if (past.length > limit) past.shift()
      future.length = 0
      changed()
    },
    edit: (run) => {
      const result = run()
      tail = Promise.allSettled([tail, result])
      return result
    },
    undo: () => step(past, future, (c) => c.undo(ids)),
    redo: () => step(future, past, (c) => c.redo(ids)),
    ids,
    sizes
  }
}
