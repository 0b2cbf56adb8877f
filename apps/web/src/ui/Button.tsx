/** Buttons of the kit: a text button and an icon-only button (which must carry an accessible name). */
import { type Component, type JSX, mergeProps, splitProps } from "solid-js"

export type ButtonVariant = "default" | "primary" | "danger" | "ghost"

export interface ButtonProps extends JSX.ButtonHTMLAttributes<HTMLButtonElement> {
  readonly variant?: ButtonVariant
  readonly size?: "normal" | "small"
}

const classes = (variant: ButtonVariant, size: "normal" | "small", extra: string | undefined) =>
  ["ui-button", variant === "default" ? "" : `ui-button--${variant}`, size === "small" ? "ui-button--small" : "", extra ?? ""]
    .filter((c) => c !== "")
    .join(" ")

export const Button: Component<ButtonProps> = (raw) => {
  const props = mergeProps({ variant: "default" as ButtonVariant, size: "normal" as const, type: "button" as const }, raw)
  const [local, rest] = splitProps(props, ["variant", "size", "class"])
  return <button {...rest} class={classes(local.variant, local.size, local.class)} />
}

export interface IconButtonProps extends ButtonProps {
  /** The accessible name (an icon alone says nothing to a screen reader); also the tooltip. */
  readonly label: string
}

export const IconButton: Component<IconButtonProps> = (raw) => {
  const props = mergeProps({ variant: "ghost" as ButtonVariant }, raw)
  const [local, rest] = splitProps(props, ["label", "class"])
  return <Button {...rest} aria-label={local.label} title={local.label} class={`ui-icon-button ${local.class ?? ""}`} />
}
