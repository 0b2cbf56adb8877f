/**
 * Dark and light themes: the system's preference by default (prefers-color-scheme, followed live),
 * or the user's choice, persisted in localStorage. The resolved theme is set as `data-theme` on <html>,
 * which selects the colour variables of theme.css.
 */
import { type Accessor, type Component, createContext, createEffect, createSignal, onCleanup, type ParentComponent, Show, useContext } from "solid-js"
import { IconButton } from "./Button.js"
import { MoonIcon, SunIcon } from "./Icons.js"

export type Theme = "light" | "dark"
export type ThemeChoice = Theme | "system"

const STORAGE_KEY = "llmlb.theme"

export interface ThemeContextValue {
  /** The theme in effect. */
  readonly theme: Accessor<Theme>
  readonly choice: Accessor<ThemeChoice>
  readonly setChoice: (choice: ThemeChoice) => void
  /** Switches to the other theme and remembers it. */
  readonly toggle: () => void
}

const ThemeContext = createContext<ThemeContextValue>()

const readChoice = (storage: Storage | undefined): ThemeChoice => {
  try {
    const stored = storage?.getItem(STORAGE_KEY)
    return stored === "light" || stored === "dark" ? stored : "system"
  } catch {
    return "system" // storage disabled (privacy mode): fall back to the system
  }
}

export const ThemeProvider: ParentComponent<{ readonly storage?: Storage }> = (props) => {
  const storage = props.storage ?? globalThis.localStorage
  const media = globalThis.matchMedia?.("(prefers-color-scheme: dark)")
  const [systemDark, setSystemDark] = createSignal(media?.matches ?? false)
  const [choice, setChoiceSignal] = createSignal<ThemeChoice>(readChoice(storage))
  const onSystemChange = (event: MediaQueryListEvent) => setSystemDark(event.matches)
  media?.addEventListener("change", onSystemChange)
  onCleanup(() => media?.removeEventListener("change", onSystemChange))

  const theme = (): Theme => {
    const chosen = choice()
    return chosen === "system" ? (systemDark() ? "dark" : "light") : chosen
  }
  createEffect(() => {
    document.documentElement.dataset["theme"] = theme()
  })

  const setChoice = (next: ThemeChoice) => {
    setChoiceSignal(next)
    try {
      if (next === "system") storage?.removeItem(STORAGE_KEY)
      else storage?.setItem(STORAGE_KEY, next)
    } catch {
      // not persisted; the choice still holds for this page
    }
  }
  const value: ThemeContextValue = { theme, choice, setChoice, toggle: () => setChoice(theme() === "dark" ? "light" : "dark") }
  return <ThemeContext.Provider value={value}>{props.children}</ThemeContext.Provider>
}

export const useTheme = (): ThemeContextValue => {
  const context = useContext(ThemeContext)
  if (context === undefined) throw new Error("useTheme needs a ThemeProvider above it")
  return context
}

/** The `Toggle theme` button: shows the sun in dark mode (click for light) and the moon in light mode. */
export const ThemeToggle: Component = () => {
  const { theme, toggle } = useTheme()
  return (
    <IconButton label="Toggle theme" aria-pressed={theme() === "dark"} onClick={toggle}>
      <Show when={theme() === "dark"} fallback={<MoonIcon />}>
        <SunIcon />
      </Show>
    </IconButton>
  )
}
