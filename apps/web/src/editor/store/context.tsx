/** The page's store, handed to every component through context as `[state, actions]`. */
import { createContext, type ParentComponent, useContext } from "solid-js"
import type { EditorStore } from "./EditorStore.js"

const EditorContext = createContext<EditorStore>()

export const EditorProvider: ParentComponent<{ readonly store: EditorStore }> = (props) => (
  <EditorContext.Provider value={props.store}>{props.children}</EditorContext.Provider>
)

export const useEditor = (): EditorStore => {
  const store = useContext(EditorContext)
  if (store === undefined) throw new Error("useEditor outside <EditorProvider>")
  return store
}
