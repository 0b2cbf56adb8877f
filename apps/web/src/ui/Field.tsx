/**
 * Form fields: each renders a <label for> bound to its control, an optional hint, and an error message
 * (the server's 400 message, for instance) tied to the control by aria-describedby and aria-invalid.
 */
import { type Component, createUniqueId, For, type JSX, mergeProps, Show, splitProps } from "solid-js"

interface FieldFrame {
  readonly label: string
  readonly hint?: string | undefined
  readonly error?: string | null | undefined
  readonly class?: string | undefined
}

/** The label, control, hint and error around a control; passes the ids the control must carry. */
const Frame = (props: FieldFrame & { readonly control: (ids: ControlIds) => JSX.Element }) => {
  const id = createUniqueId()
  const ids: ControlIds = {
    id: `field-${id}`,
    describedBy: () =>
      [props.hint ? `field-${id}-hint` : "", props.error ? `field-${id}-error` : ""].filter((s) => s !== "").join(" ") || undefined,
    invalid: () => (props.error ? true : undefined)
  }
  return (
    <div class={`ui-field ${props.class ?? ""}`}>
      <label class="ui-field__label" for={ids.id}>{props.label}</label>
      {props.control(ids)}
      <Show when={props.hint}>
        <span class="ui-field__hint" id={`field-${id}-hint`}>{props.hint}</span>
      </Show>
      <Show when={props.error}>
        <span class="ui-field__error" id={`field-${id}-error`} role="alert">{props.error}</span>
      </Show>
    </div>
  )
}

interface ControlIds {
  readonly id: string
  readonly describedBy: () => string | undefined
  readonly invalid: () => true | undefined
}

/** The attributes that tie an <input> to its label, hint and error (getters: spread props stay reactive). */
const inputBinding = (ids: ControlIds) => ({
  id: ids.id,
  class: "ui-input",
  get "aria-describedby"() {
    return ids.describedBy()
  },
  get "aria-invalid"() {
    return ids.invalid()
  }
})

type InputRest = Omit<JSX.InputHTMLAttributes<HTMLInputElement>, "value" | "onInput" | "onChange" | "id" | "class">

export interface TextFieldProps extends FieldFrame, InputRest {
  readonly value: string
  readonly onValue: (value: string) => void
}

export const TextField: Component<TextFieldProps> = (raw) => {
  const props = mergeProps({ type: "text" }, raw)
  const [frame, local, rest] = splitProps(props, ["label", "hint", "error", "class"], ["value", "onValue"])
  return (
    <Frame
      {...frame}
      control={(ids) => (
        <input
          {...rest}
          {...inputBinding(ids)}
          value={local.value}
          onInput={(event) => local.onValue(event.currentTarget.value)}
        />
      )}
    />
  )
}

export interface NumberFieldProps extends FieldFrame, Omit<InputRest, "type" | "min" | "max" | "step"> {
  /** null = empty (e.g. "no limit"). */
  readonly value: number | null
  readonly onValue: (value: number | null) => void
  readonly min?: number
  readonly max?: number
  readonly step?: number | "any"
}

export const NumberField: Component<NumberFieldProps> = (raw) => {
  const [frame, local, rest] = splitProps(raw, ["label", "hint", "error", "class"], ["value", "onValue"])
  return (
    <Frame
      {...frame}
      control={(ids) => (
        <input
          {...rest}
          type="number"
          inputMode="decimal"
          {...inputBinding(ids)}
          value={local.value === null ? "" : String(local.value)}
          onInput={(event) => {
            const text = event.currentTarget.value.trim()
            if (text === "") return local.onValue(null)
            const value = Number(text)
            // Half-typed input ("1e", "-") is not a number yet: keep the last one.
            if (Number.isFinite(value)) local.onValue(value)
          }}
        />
      )}
    />
  )
}

export interface SelectOption<V extends string> {
  readonly value: V
  readonly label: string
}

export interface SelectProps<V extends string> extends FieldFrame {
  readonly value: V
  readonly options: ReadonlyArray<SelectOption<V>>
  readonly onValue: (value: V) => void
  readonly disabled?: boolean
  readonly name?: string
}

export const Select = <V extends string>(props: SelectProps<V>): JSX.Element => {
  const [frame, local] = splitProps(props, ["label", "hint", "error", "class"])
  return (
    <Frame
      {...frame}
      control={(ids) => (
        <select
          id={ids.id}
          class="ui-select"
          name={local.name}
          disabled={local.disabled}
          aria-describedby={ids.describedBy()}
          aria-invalid={ids.invalid()}
          onChange={(event) => local.onValue(event.currentTarget.value as V)}
        >
          <For each={local.options}>
            {(option) => <option value={option.value} selected={option.value === local.value}>{option.label}</option>}
          </For>
        </select>
      )}
    />
  )
}

export interface SwitchProps {
  readonly label: string
  readonly checked: boolean
  readonly onValue: (checked: boolean) => void
  readonly disabled?: boolean
  readonly class?: string | undefined
}

/** A checkbox exposed as role="switch", its label bound with <label for>. */
export const Switch: Component<SwitchProps> = (props) => {
  const id = `switch-${createUniqueId()}`
  return (
    <div class={`ui-switch ${props.class ?? ""}`}>
      <input
        id={id}
        type="checkbox"
        role="switch"
        class="ui-switch__input"
        checked={props.checked}
        disabled={props.disabled}
        aria-checked={props.checked}
        onChange={(event) => props.onValue(event.currentTarget.checked)}
      />
      <label for={id}>{props.label}</label>
    </div>
  )
}
