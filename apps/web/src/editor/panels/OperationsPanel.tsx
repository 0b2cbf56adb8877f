/** The `Operations` panel: each operation is a button whose dialog's `Confirm` runs it. */
import { type Component, For, Show } from "solid-js"
import { Button, ConfirmDialog } from "../../ui/index.js"
import { type Operation, OPERATIONS, type OperationsActions, type OperationsSlice } from "./operations.js"

export interface OperationsPanelProps {
  readonly state: OperationsSlice
  readonly actions: OperationsActions
}

const ORDER: ReadonlyArray<Operation> = ["reset-stats", "clear-cache", "vacuum", "backup"]

export const OperationsPanel: Component<OperationsPanelProps> = (props) => {
  const confirming = () => (props.state.confirming === null ? undefined : OPERATIONS[props.state.confirming])
  return (
    <div class="ui-stack">
      <ul class="panels-list" aria-label="Operations">
        <For each={ORDER}>
          {(operation) => (
            <li class="panels-item panels-operation">
              <div>
                <Button
                  variant={OPERATIONS[operation].danger ? "danger" : "default"}
                  onClick={() => props.actions.ask(operation)}
                  disabled={props.state.running !== null}
                >
                  {OPERATIONS[operation].label}
                </Button>
              </div>
              <p class="ui-muted">{OPERATIONS[operation].description}</p>
            </li>
          )}
        </For>
      </ul>
      <Show when={props.state.last}>
        {(last) => (
          <p role="status" class={last().ok ? "panels-outcome" : "ui-field__error"}>{last().message}</p>
        )}
      </Show>
      <ConfirmDialog
        open={props.state.confirming !== null}
        title={`${confirming()?.label ?? ""}?`}
        message={confirming()?.confirm ?? ""}
        danger={confirming()?.danger ?? false}
        onConfirm={() => props.actions.confirm()}
        onCancel={() => props.actions.cancel()}
      />
    </div>
  )
}
