/** The UI kit shared by the editor and producer pages. Import "./theme.css" once per page (the entry does it). */
export { Button, type ButtonProps, type ButtonVariant, IconButton, type IconButtonProps } from "./Button.js"
export { ConfirmDialog, type ConfirmDialogProps, Dialog, type DialogProps } from "./Dialog.js"
export {
  NumberField,
  type NumberFieldProps,
  Select,
  type SelectOption,
  type SelectProps,
  Switch,
  type SwitchProps,
  TextField,
  type TextFieldProps
} from "./Field.js"
export { focusables, focusFirst, trapTab } from "./focus.js"
export { CloseIcon, MoonIcon, SunIcon } from "./Icons.js"
export { Panel, type PanelProps } from "./Panel.js"
export { type Theme, type ThemeChoice, type ThemeContextValue, ThemeProvider, ThemeToggle, useTheme } from "./Theme.js"
export { createToaster, toast, Toaster, type ToastItem, type ToastKind, type Toasts } from "./Toast.js"
