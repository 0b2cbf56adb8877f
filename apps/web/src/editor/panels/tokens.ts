/**
 * The client tokens slice: the list, the create / edit form with the server's messages per field,
 * the secret of a token just created (shown once), and revocation behind a confirmation.
 */
import type { ClientToken } from "@llmlb/core"
import type { SetStoreFunction } from "solid-js/store"
import type { AdminSession } from "../../api/index.js"
import { asApiError, type Notify } from "./slice.js"

export interface BlockOption {
  readonly id: string
  readonly name: string
}

/** What the form edits; null limits = unlimited, null block = by path, else default. */
export interface TokenDraft {
  name: string
  rpm_limit: number | null
  tpm_limit: number | null
  block_id: string | null
  enabled: boolean
}

export type TokenField = keyof TokenDraft

export interface TokensSlice {
  items: Array<ClientToken.ClientToken>
  blocks: Array<BlockOption>
  loading: boolean
  loadError: string | null
  /** "new", a token's id while editing it, or null. */
  editing: string | null
  draft: TokenDraft
  fieldErrors: Partial<Record<TokenField, string>>
  formError: string | null
  saving: boolean
  /** The secret of the token just created: shown once, gone when dismissed. */
  secret: { readonly name: string; readonly token: string } | null
  /** The token awaiting the revocation's confirmation. */
  revoking: string | null
}

export const emptyDraft = (): TokenDraft => ({ name: "", rpm_limit: null, tpm_limit: null, block_id: null, enabled: true })

export const initialTokens = (): TokensSlice => ({
  items: [],
  blocks: [],
  loading: false,
  loadError: null,
  editing: null,
  draft: emptyDraft(),
  fieldErrors: {},
  formError: null,
  saving: false,
  secret: null,
  revoking: null
})

/** The calls the slice makes. */
export interface TokensApi {
  readonly list: () => Promise<ReadonlyArray<ClientToken.ClientToken>>
  readonly blocks: () => Promise<ReadonlyArray<BlockOption>>
  readonly create: (draft: TokenDraft) => Promise<ClientToken.ClientTokenCreated>
  readonly update: (id: string, patch: ClientToken.TokenPatch) => Promise<ClientToken.ClientToken>
  readonly revoke: (id: string) => Promise<void>
}

export const tokensApi = (session: AdminSession): TokensApi => ({
  list: () => session.call(session.client.tokens.list()),
  blocks: () => session.call(session.client.incomingBlocks.list()),
  create: (draft) => session.call(session.client.tokens.create({ payload: draft })),
  update: (id, patch) => session.call(session.client.tokens.update({ path: { tid: id }, payload: patch })),
  revoke: (id) => session.call(session.client.tokens.delete({ path: { tid: id } }))
})

const FIELDS: ReadonlyArray<TokenField> = ["name", "rpm_limit", "tpm_limit", "block_id", "enabled"]

/** The fields of the draft that differ from the token (a PATCH sends only those). */
const changesOf = (token: ClientToken.ClientToken, draft: TokenDraft): ClientToken.TokenPatch => {
  const patch: { -readonly [K in TokenField]?: TokenDraft[K] } = {}
  for (const field of FIELDS) if (token[field] !== draft[field]) (patch as Record<string, unknown>)[field] = draft[field]
  return patch
}

export const createTokensActions = (api: TokensApi, state: TokensSlice, set: SetStoreFunction<TokensSlice>, notify: Notify) => {
  const load = async () => {
    set({ loading: true, loadError: null })
    try {
      const [items, blocks] = await Promise.all([api.list(), api.blocks()])
      set({ items: [...items], blocks: blocks.map((b) => ({ id: b.id, name: b.name })) })
    } catch (error) {
      set("loadError", asApiError(error).message)
    } finally {
      set("loading", false)
    }
  }

  const openForm = (editing: string, draft: TokenDraft) => set({ editing, draft, fieldErrors: {}, formError: null })

  /** Shows a refusal beside the field it names, else above the form. */
  const refused = (error: unknown) => {
    const failure = asApiError(error)
    const field = FIELDS.find((f) => failure.about(f))
    if (field === undefined) set({ fieldErrors: {}, formError: failure.message })
    else set({ fieldErrors: { [field]: failure.message }, formError: null })
  }

  const save = async () => {
    const editing = state.editing
    if (editing === null) return
    set({ saving: true, fieldErrors: {}, formError: null })
    try {
      const draft = { ...state.draft }
      if (editing === "new") {
        const created = await api.create(draft)
        const { token, ...listed } = created
        set({ items: [...state.items, listed], secret: { name: created.name, token }, editing: null })
        notify(`Client token "${created.name}" created`, "success")
      } else {
        const current = state.items.find((t) => t.id === editing)
        if (current === undefined) return set("editing", null)
        const patch = changesOf(current, draft)
        const updated = Object.keys(patch).length === 0 ? current : await api.update(editing, patch)
        set("items", (items) => items.map((t) => (t.id === editing ? updated : t)))
        set("editing", null)
        notify(`Client token "${updated.name}" saved`, "success")
      }
    } catch (error) {
      refused(error)
    } finally {
      set("saving", false)
    }
  }

  const revoke = async () => {
    const id = state.revoking
    if (id === null) return
    const token = state.items.find((t) => t.id === id)
    try {
      await api.revoke(id)
      set("items", (items) => items.filter((t) => t.id !== id))
      notify(`Client token "${token?.name ?? id}" revoked`, "success")
    } catch (error) {
      notify(`Revoking failed: ${asApiError(error).message}`, "error")
    } finally {
      set("revoking", null)
    }
  }

  return {
    load,
    startNew: () => openForm("new", emptyDraft()),
    startEdit: (id: string) => {
      const token = state.items.find((t) => t.id === id)
      if (token !== undefined) {
        const { name, rpm_limit, tpm_limit, block_id, enabled } = token
        openForm(id, { name, rpm_limit, tpm_limit, block_id, enabled })
      }
    },
    cancel: () => set({ editing: null, fieldErrors: {}, formError: null }),
    setDraft: <F extends TokenField>(field: F, value: TokenDraft[F]) => {
      set("draft", field, value as never)
      // Setting undefined deletes the key: the field's old message goes once it is edited.
      set("fieldErrors", field as TokenField, undefined as never)
    },
    save,
    askRevoke: (id: string) => set("revoking", id),
    cancelRevoke: () => set("revoking", null),
    revoke,
    dismissSecret: () => set("secret", null)
  } as const
}

export type TokensActions = ReturnType<typeof createTokensActions>
