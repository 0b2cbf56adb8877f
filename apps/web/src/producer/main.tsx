/** The producer page's entry: theme, toasts and the app, mounted once. */
import { render } from "solid-js/web"
import "../ui/theme.css"
import "./producer.css"
import { ThemeProvider, Toaster } from "../ui/index.js"
import { App } from "./App.js"

render(
  () => (
    <ThemeProvider>
      <App />
      <Toaster />
    </ThemeProvider>
  ),
  document.getElementById("root")!
)
