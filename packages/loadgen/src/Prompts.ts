/**
 * Prompt text for the i-th request: fixed, a template with `{i}`, `{random_words:N}` and `{shared:G:N}` (one
 * of G texts of N words, drawn per request: G tenants' shared system prompts), or synthetic text of N input
 * tokens +- a spread. Synthetic words are three letters and a space, 4 characters: one token at
 * the usual estimate of 4 characters a token (and one word for servers that count words).
 */
import { makeRng } from "./Schedule.js"

const syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "vi", "so", "pe", "du", "ga", "fe", "zo", "bi", "ha", "wu"]
const letters = "abcdefghijklmnopqrstuvwxyz"

export const estimateTokens = (text: string): number => Math.max(1, Math.round(text.length / 4))

export interface PromptSource {
  /** The prompt of request `i` (0-based, warm-up included). */
  readonly text: (i: number) => string
}

const DEFAULT_PROMPT = "Write a short story about a lighthouse keeper who finds a message in a bottle."

const words = (rng: () => number, n: number): string => {
  let out = ""
  for (let k = 0; k < n; k++) {
    const s = syllables[Math.floor(rng() * syllables.length)]!
    out += (k === 0 ? "" : " ") + s + letters[Math.floor(rng() * letters.length)]!
  }
  return out
}

const templatePart = /\{i\}|\{random_words:(\d+)\}|\{shared:(\d+):(\d+)\}/g

export const makePrompts = (
  settings: { readonly prompt?: string | undefined; readonly input_tokens?: number | undefined; readonly input_spread: number; readonly seed: number }
): PromptSource => {
  // Each request draws from its own RNG seeded by (seed, i): the i-th prompt is the same whichever
  // worker thread sends it.
  const rngFor = (i: number) => makeRng((settings.seed * 0x9e3779b1 + i * 0x85ebca6b) >>> 0)
  const template = settings.prompt
  if (template !== undefined) {
    if (!/\{i\}|\{random_words:\d+\}|\{shared:\d+:\d+\}/.test(template)) return { text: () => template }
    // Shared text k is drawn from its own RNG (seeded by the run's seed and k), so it is the same in every request that draws k.
    const shared = (k: number, n: number) => words(makeRng(((settings.seed * 0x9e3779b1) ^ Math.imul(0x7f4a7c15, k + 1)) >>> 0), n)
    return {
      text: (i) => {
        const rng = rngFor(i)
        return template.replace(templatePart, (part, n: string | undefined, groups: string | undefined, size: string | undefined) =>
          part === "{i}" ? String(i) : n !== undefined ? words(rng, Number(n)) : shared(Math.floor(rng() * Number(groups)), Number(size)))
      }
    }
  }
  const tokens = settings.input_tokens
  if (tokens === undefined) return { text: () => DEFAULT_PROMPT }
  const spread = settings.input_spread
  return {
    text: (i) => {
      const rng = rngFor(i)
      const n = Math.max(1, tokens + Math.round((rng() * 2 - 1) * spread))
      return words(rng, n)
    }
  }
}
