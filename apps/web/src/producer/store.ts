/**
 * The producer page's state: one root store of cards, the saved configurations, the runs it has seen
 * (live points, events, reports) and the history, with the actions that change it. Cards live in
 * localStorage (without API keys); profiles fall back to localStorage when the server cannot be reached
 * and can be uploaded once it is back.
 */
import type { Producer } from "@llmlb/api"
import { batch } from "solid-js"
import { createStore, produce } from "solid-js/store"
import type { ApiError } from "../api/ApiError.js"
import { toast } from "../ui/index.js"
import type { LivePoint, Report, RequestRecord, RunEvent } from "./types.js"
import type { ProducerSession } from "./session.js"
import { applySettings, type CardForm, defaultForm, loadSettings, runBody, validate } from "./settings.js"

export type CardStatus = "idle" | Producer.RunStatus

export interface Card {
  id: string
  name: string
  form: CardForm
  /** The selected preset or profile: "preset:<id>", "profile:<id>", "local:<name>" or "". */
  profile: string
  /** The selected model configuration's id, or "". */
  modelConfigId: string
  runId: number | null
  status: CardStatus
  error: string | null
}

export interface RunView {
  id: number
  label: string | null
  status: Producer.RunStatus
  reason: string | null
  points: Array<LivePoint>
  events: Array<RunEvent>
  report: Report | null
  requests: Array<RequestRecord> | null
}

export interface LocalProfile {
  readonly name: string
  readonly settings: Record<string, unknown>
}

export interface ProducerState {
  cards: Array<Card>
  presets: Array<Producer.Preset>
  profiles: Array<Producer.Profile>
  modelConfigs: Array<Producer.ModelConfig>
  /** Profiles saved while the server could not be reached. */
  localProfiles: Array<LocalProfile>
  runs: Record<number, RunView>
  history: Array<Producer.RunSummary>
  selectedRunId: number | null
  compare: [number, number] | null
  online: boolean
  defaultBaseUrl: string
}

const CARDS_KEY = "llmlb.producer.cards"
const LOCAL_PROFILES_KEY = "llmlb.producer.localProfiles"
/** Points kept per run in the page (one a second: an hour). */
const MAX_POINTS = 3600

const byName = <A extends { readonly name: string }>(items: ReadonlyArray<A>) =>
  [...items].sort((a, b) => a.name.localeCompare(b.name, undefined, { sensitivity: "base" }))

const readJson = <A>(key: string, fallback: A): A => {
  try {
    const text = localStorage.getItem(key)
    return text === null ? fallback : (JSON.parse(text) as A)
  } catch {
    return fallback
  }
}

const writeJson = (key: string, value: unknown) => {
  try {
    localStorage.setItem(key, JSON.stringify(value))
  } catch {
    // storage full or disabled: the page works without it
  }
}

const newCard = (name: string, form: CardForm): Card => ({
  id: crypto.randomUUID(),
  name,
  form,
  profile: "",
  modelConfigId: "",
  runId: null,
  status: "idle",
  error: null
})

const isTerminal = (status: CardStatus) => status !== "running" && status !== "idle"

export const createProducerStore = (session: ProducerSession) => {
  const saved = readJson<Array<Card>>(CARDS_KEY, [])
  const [state, setState] = createStore<ProducerState>({
    // A card that was running when the page closed shows its run's state once the server answers.
    cards: saved.map((c) => ({ ...c, error: null })),
    presets: [],
    profiles: [],
    modelConfigs: [],
    localProfiles: readJson<Array<LocalProfile>>(LOCAL_PROFILES_KEY, []),
    runs: {},
    history: [],
    selectedRunId: null,
    compare: null,
    online: true,
    defaultBaseUrl: "http://localhost:8090/v1"
  })

  /** Cards are kept without their API keys: a key belongs in a model configuration on the server. */
  const persistCards = () => writeJson(CARDS_KEY, state.cards.map((c) => ({ ...c, form: { ...c.form, api_key: "" } })))

  const offline = (error: unknown) => {
    if ((error as ApiError).status === 0) setState("online", false)
    return error as ApiError
  }

  const cardIndex = (id: string) => state.cards.findIndex((c) => c.id === id)
  const setCard = (id: string, patch: Partial<Card>) => {
    const i = cardIndex(id)
    if (i >= 0) setState("cards", i, patch)
    persistCards()
  }

  const ensureRun = (id: number, label: string | null = null) => {
    if (state.runs[id] !== undefined) return
    setState("runs", id, { id, label, status: "running", reason: null, points: [], events: [], report: null, requests: null })
  }

  /** Fetches a run's detail (report, events, and its series when the page missed it). */
  const loadRun = async (id: number) => {
    const detail = await session.call(session.client.runs.get({ path: { id } }))
    const report = detail.report as Report | null
    ensureRun(id, detail.label)
    setState("runs", id, produce((run) => {
      run.status = detail.status
      run.reason = detail.reason
      run.label = detail.label
      run.report = report
      if (detail.events.length >= run.events.length) run.events = [...detail.events]
      if (report !== null && report.series.length >= run.points.length) run.points = [...report.series]
    }))
    return detail
  }

  const loadRequests = async (id: number) => {
    const records = (await session.call(session.client.runs.requests({ path: { id } }))) as ReadonlyArray<RequestRecord>
    ensureRun(id)
    setState("runs", id, "requests", records)
  }

  const refreshHistory = async () => {
    const history = await session.call(session.client.runs.list({ urlParams: { limit: 100 } }))
    setState("history", history)
  }

  const refreshSaved = async () => {
    const [presets, profiles, modelConfigs] = await Promise.all([
      session.call(session.client.presets.list()),
      session.call(session.client.profiles.list()),
      session.call(session.client["model-configs"].list())
    ])
    batch(() => {
      setState("presets", presets)
      setState("profiles", byName(profiles))
      setState("modelConfigs", byName(modelConfigs))
      setState("online", true)
    })
  }

  const onLive = (message: Producer.LiveMessage) => {
    const id = message.run_id
    ensureRun(id)
    if (message.type === "point") {
      setState("runs", id, "points", (points) =>
        points.length >= MAX_POINTS ? [...points.slice(1), message.point as unknown as LivePoint] : [...points, message.point as unknown as LivePoint])
    } else if (message.type === "event") {
      setState("runs", id, "events", (events) => [...events, message.event])
    } else {
      setState("runs", id, { status: message.status, reason: message.reason })
      const i = state.cards.findIndex((c) => c.runId === id)
      if (i >= 0) setState("cards", i, "status", message.status)
      if (message.status !== "running") {
        void loadRun(id).catch(() => undefined)
        void refreshHistory().catch(() => undefined)
      }
    }
  }

  /** What the server keeps: defaults, saved configurations, history. Again after a token is given. */
  const load = async () => {
    try {
      const defaults = await session.call(session.client.presets.defaults())
      setState("defaultBaseUrl", defaults.base_url)
      await refreshSaved()
      await refreshHistory()
    } catch (error) {
      offline(error)
    }
  }

  const init = async () => {
    await load()
    if (state.cards.length === 0) addCard()
    // Cards whose runs ended while the page was closed.
    for (const card of state.cards) {
      if (card.runId !== null) {
        void loadRun(card.runId).then((detail) => setCard(card.id, { status: detail.status })).catch(() => setCard(card.id, { runId: null, status: "idle" }))
      }
    }
    session.live.connect(onLive)
  }

  const addCard = () => {
    const taken = new Set(state.cards.map((c) => c.name))
    let n = state.cards.length + 1
    while (taken.has(String(n))) n++
    setState("cards", (cards) => [...cards, newCard(String(n), defaultForm(state.defaultBaseUrl))])
    persistCards()
  }

  const start = async (id: string) => {
    const card = state.cards[cardIndex(id)]
    if (card === undefined || card.status === "running") return
    if (Object.keys(validate(card.form)).length > 0) return setCard(id, { error: "fix the fields marked above" })
    const body = {
      ...runBody(card.form, `Card ${card.name}`),
      ...(card.modelConfigId === "" ? {} : { model_config_id: card.modelConfigId })
    }
    try {
      const created = await session.call(session.client.runs.start({ payload: body }))
      ensureRun(created.id, `Card ${card.name}`)
      batch(() => {
        setCard(id, { runId: created.id, status: "running", error: null })
        setState("selectedRunId", created.id)
      })
    } catch (error) {
      setCard(id, { error: offline(error).message })
    }
  }

  const stop = async (id: string) => {
    const card = state.cards[cardIndex(id)]
    if (card?.runId == null || card.status !== "running") return
    try {
      const answer = await session.call(session.client.runs.stop({ path: { id: card.runId } }))
      setCard(id, { status: answer.status })
    } catch (error) {
      setCard(id, { error: offline(error).message })
    }
  }

  const reset = (id: string) => {
    const card = state.cards[cardIndex(id)]
    if (card === undefined || card.status === "running") return
    setCard(id, { runId: null, status: "idle", error: null })
  }

  const saveProfile = async (id: string, name: string) => {
    const card = state.cards[cardIndex(id)]
    if (card === undefined) return
    const settings = loadSettings(card.form)
    const existing = state.profiles.find((p) => p.name.toLowerCase() === name.trim().toLowerCase())
    const modelConfig = card.modelConfigId === "" ? null : card.modelConfigId
    try {
      const profile = existing === undefined
        ? await session.call(session.client.profiles.create({ payload: { name: name.trim(), settings, model_config_id: modelConfig } }))
        : await session.call(session.client.profiles.update({ path: { id: existing.id }, payload: { settings, model_config_id: modelConfig } }))
      await refreshSaved()
      setCard(id, { profile: `profile:${profile.id}` })
      toast(`profile "${profile.name}" saved`, "success")
    } catch (error) {
      const failure = offline(error)
      if (failure.status !== 0) throw failure
      const local = [...state.localProfiles.filter((p) => p.name !== name.trim()), { name: name.trim(), settings }]
      setState("localProfiles", local)
      writeJson(LOCAL_PROFILES_KEY, local)
      setCard(id, { profile: `local:${name.trim()}` })
      toast(`the server cannot be reached: "${name.trim()}" is kept in this browser until you upload it`, "warning")
    }
  }

  return {
    state,
    init,
    load,
    refreshSaved,
    refreshHistory,
    loadRun,
    loadRequests,
    addCard,
    duplicateCard: (id: string) => {
      const card = state.cards[cardIndex(id)]
      if (card === undefined) return
      const copy = { ...newCard(`${card.name} copy`, card.form), profile: card.profile, modelConfigId: card.modelConfigId }
      const i = cardIndex(id)
      setState("cards", (cards) => [...cards.slice(0, i + 1), copy, ...cards.slice(i + 1)])
      persistCards()
    },
    deleteCard: (id: string) => {
      const card = state.cards[cardIndex(id)]
      if (card?.status === "running") void stop(id)
      setState("cards", (cards) => cards.filter((c) => c.id !== id))
      persistCards()
    },
    renameCard: (id: string, name: string) => setCard(id, { name }),
    updateForm: (id: string, patch: Partial<CardForm>) => {
      const i = cardIndex(id)
      if (i < 0) return
      setState("cards", i, "form", (form) => ({ ...form, ...patch }))
      persistCards()
    },
    applyProfile: (id: string, value: string) => {
      const card = state.cards[cardIndex(id)]
      if (card === undefined) return
      const [kind, key] = [value.slice(0, value.indexOf(":")), value.slice(value.indexOf(":") + 1)]
      const settings = kind === "preset"
        ? state.presets.find((p) => p.id === key)?.settings
        : kind === "profile"
        ? state.profiles.find((p) => p.id === key)?.settings
        : state.localProfiles.find((p) => p.name === key)?.settings
      const bound = kind === "profile" ? state.profiles.find((p) => p.id === key)?.model_config_id ?? null : null
      setCard(id, {
        profile: value,
        ...(settings === undefined ? {} : { form: applySettings(card.form, settings) }),
        ...(bound === null ? {} : { modelConfigId: bound })
      })
    },
    applyModelConfig: (id: string, configId: string) => {
      const card = state.cards[cardIndex(id)]
      const config = state.modelConfigs.find((m) => m.id === configId)
      if (card === undefined) return
      setCard(id, {
        modelConfigId: configId,
        ...(config === undefined ? {} : {
          form: { ...card.form, base_url: config.base_url, model: config.model ?? "", route: config.route, api_key: "" }
        })
      })
    },
    saveModelConfig: async (id: string, name: string) => {
      const card = state.cards[cardIndex(id)]
      if (card === undefined) return
      const existing = state.modelConfigs.find((m) => m.name.toLowerCase() === name.trim().toLowerCase())
      const fields = {
        base_url: card.form.base_url.trim(),
        model: card.form.model.trim() === "" ? null : card.form.model.trim(),
        route: card.form.route,
        ...(card.form.api_key === "" ? {} : { api_key: card.form.api_key })
      }
      const config = existing === undefined
        ? await session.call(session.client["model-configs"].create({ payload: { name: name.trim(), api_key: null, ...fields } }))
        : await session.call(session.client["model-configs"].update({ path: { id: existing.id }, payload: fields }))
      await refreshSaved()
      setCard(id, { modelConfigId: config.id, form: { ...card.form, api_key: "" } })
      toast(`model configuration "${config.name}" saved`, "success")
    },
    renameSaved: async (kind: "profile" | "model-config", savedId: string, name: string) => {
      if (kind === "profile") await session.call(session.client.profiles.update({ path: { id: savedId }, payload: { name: name.trim() } }))
      else await session.call(session.client["model-configs"].update({ path: { id: savedId }, payload: { name: name.trim() } }))
      await refreshSaved()
    },
    deleteSaved: async (kind: "profile" | "model-config", savedId: string) => {
      if (kind === "profile") await session.call(session.client.profiles.delete({ path: { id: savedId } }))
      else await session.call(session.client["model-configs"].delete({ path: { id: savedId } }))
      for (const card of state.cards) {
        if (card.profile === `profile:${savedId}`) setCard(card.id, { profile: "" })
        if (card.modelConfigId === savedId) setCard(card.id, { modelConfigId: "" })
      }
      await refreshSaved()
    },
    saveProfile,
    /** Uploads the profiles kept in this browser; those the server took leave the browser. */
    uploadLocalProfiles: async () => {
      const left: Array<LocalProfile> = []
      for (const profile of state.localProfiles) {
        try {
          // A plain copy: the store's proxy carries a symbol key that the payload's schema refuses.
          const settings = { ...profile.settings }
          await session.call(session.client.profiles.create({ payload: { name: profile.name, settings, model_config_id: null } }))
        } catch (error) {
          const failure = error as ApiError
          // A name taken on the server: keep the local copy for the user to rename.
          left.push(profile)
          toast(`"${profile.name}": ${failure.message}`, "error")
        }
      }
      setState("localProfiles", left)
      writeJson(LOCAL_PROFILES_KEY, left)
      await refreshSaved()
    },
    start,
    stop,
    reset,
    startAll: () => Promise.all(state.cards.filter((c) => c.status !== "running").map((c) => start(c.id))),
    stopAll: () => Promise.all(state.cards.filter((c) => c.status === "running").map((c) => stop(c.id))),
    resetAll: () => {
      for (const card of state.cards) if (isTerminal(card.status) || card.status === "idle") reset(card.id)
    },
    selectRun: (id: number | null) => {
      setState("selectedRunId", id)
      if (id !== null && state.runs[id]?.report == null) void loadRun(id).catch(() => undefined)
    },
    setCompare: (pair: readonly [number, number] | null) => {
      setState("compare", pair)
      if (pair !== null) for (const id of pair) if (state.runs[id]?.report == null) void loadRun(id).catch(() => undefined)
    },
    deleteRun: async (id: number) => {
      await session.call(session.client.runs.delete({ path: { id } }))
      if (state.selectedRunId === id) setState("selectedRunId", null)
      await refreshHistory()
    }
  }
}

export type ProducerStore = ReturnType<typeof createProducerStore>
