/**
 * The simulated engine's prefix cache: the prompt's tokens (the sim counts whitespace-separated words
 * as tokens) cut into full blocks of 16, each block's hash chained to the previous one's as vLLM's
 * automatic prefix caching does, kept in an LRU set of `numGpuBlocks` blocks (core's PrefixSet).
 */

export const BLOCK_TOKENS = 16

const textOf = (content: unknown): string => {
  if (typeof content === "string") return content
  if (!Array.isArray(content)) return ""
  let text = ""
  for (const part of content) {
    if (typeof part === "object" && part !== null && typeof (part as { text?: unknown }).text === "string") {
      text += " " + (part as { text: string }).text
    }
  }
  return text
}

/** The prompt's tokens as the sim counts them: chat message contents in order, or the completion prompt. */
export const promptTokensOf = (body: unknown): Array<string> => {
  const b = body as Record<string, unknown>
  let text = ""
  if (Array.isArray(b["messages"])) {
    for (const m of b["messages"]) text += " " + textOf((m as { content?: unknown } | null)?.content)
  } else {
    const prompt = b["prompt"]
    text = typeof prompt === "string" ? prompt : Array.isArray(prompt) ? prompt.map(String).join(" ") : ""
  }
  return text.split(/\s+/).filter((w) => w !== "")
}

/** FNV-1a over a string, continued from `h`. */
const fnv = (h: number, s: string, prime: number): number => {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), prime)
  return h
}

/** Hashes of the prompt's full 16-token blocks, each standing for the whole prefix up to it. */
export const blockChain = (tokens: ReadonlyArray<string>): Array<number> => {
  const n = Math.floor(tokens.length / BLOCK_TOKENS)
  const chain = new Array<number>(n)
  let a = 0x811c9dc5
  let b = 0x9747b28c
  for (let i = 0; i < n; i++) {
    for (let k = i * BLOCK_TOKENS; k < (i + 1) * BLOCK_TOKENS; k++) {
      a = fnv(a, tokens[k]!, 16777619)
      b = fnv(b ^ 32, tokens[k]!, 0x5bd1e995) // the word boundary counts in the second lane
    }
    // 53 bits: an exact JavaScript number key.
    chain[i] = (a >>> 0) * 2097152 + ((b >>> 0) & 0x1fffff)
  }
  return chain
}
