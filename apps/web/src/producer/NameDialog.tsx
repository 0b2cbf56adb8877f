/** Asks for a name (save, save as, rename): one field, Save and Cancel; Enter saves. */
import { type Component, createEffect, createSignal } from "solid-js"
import { Button, Dialog, TextField } from "../ui/index.js"

export interface NameDialogProps {
  readonly open: boolean
  readonly title: string
  readonly label: string
  readonly initial: string
  readonly error: string | null
  readonly onSubmit: (name: string) => void
  readonly onClose: () => void
}

export const NameDialog: Component<NameDialogProps> = (props) => {
  const [name, setName] = createSignal("")
  createEffect(() => {
    if (props.open) setName(props.initial)
  })
  const submit = () => {
    if (name().trim() !== "") props.onSubmit(name())
  }
  return (
    <Dialog
      open={props.open}
      title={props.title}
      onClose={props.onClose}
      actions={
        <>
          <Button onClick={props.onClose}>Cancel</Button>
          <Button variant="primary" onClick={submit} disabled={name().trim() === ""}>Save</Button>
        </>
      }
    >
      <form onSubmit={(event) => {
        event.preventDefault()
        submit()
      }}>
        <TextField label={props.label} value={name()} error={props.error} onValue={setName} />
      </form>
    </Dialog>
  )
}
