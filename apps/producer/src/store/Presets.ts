/**
 * Presets: read-only profiles shipped with the product, listed beside the user's own. Their settings are
 * the engine's (a test checks each one with the engine's schema).
 */
import type { Producer } from "@llmlb/api"

export const presets: ReadonlyArray<Producer.Preset> = [
  {
    id: "smoke-test",
    name: "Smoke test (1 x 10)",
    description: "One stream, ten requests: does the endpoint answer and stream at all?",
    settings: { concurrency: 1, requests: 10, max_tokens: 64 }
  },
  {
    id: "steady-chat",
    name: "Steady chat (8 streams)",
    description: "Eight concurrent chat streams for 60 s: a steady closed-loop load",
    settings: { concurrency: 8, duration: 60, max_tokens: 128 }
  },
  {
    id: "poisson-5rps",
    name: "Poisson 5 req/s for 60 s",
    description: "Open loop: Poisson arrivals at 5 requests a second for 60 s, as vLLM's bench serve",
    settings: { rate: 5, burstiness: 1, duration: 60, max_tokens: 128 }
  },
  {
    id: "ramp-1-32",
    name: "Ramp 1 -> 32 streams",
    description: "Concurrency rising linearly from 1 to 32 streams over 120 s: where does latency bend?",
    settings: { ramp: { from: 1, to: 32, of: "concurrency" }, duration: 120, max_tokens: 128 }
  },
  {
    id: "long-prompts",
    name: "Long prompts (2,000 tokens)",
    description: "Synthetic prompts of about 2,000 input tokens, 4 streams, 40 requests: prefill-heavy",
    settings: { input_tokens: 2000, input_spread: 200, concurrency: 4, requests: 40, max_tokens: 128 }
  }
]
