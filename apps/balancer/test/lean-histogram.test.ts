import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import * as Prom from "prom-client"
import { LeanHistogram } from "../src/observability/LeanHistogram.js"

const BOUNDS = [0.01, 0.1, 1, 10]

describe("LeanHistogram", () => {
  it("exports what prom-client's Histogram exports for the same observations", () =>
    fc.assert(fc.asyncProperty(
      fc.array(fc.tuple(fc.constantFrom("a", "b\"c", "d"), fc.constantFrom("true", "false"), fc.double({ min: 0, max: 50, noNaN: true })), { maxLength: 40 }),
      async (observations) => {
    const lean = new Prom.Registry()
    const reference = new Prom.Registry()
    const histogram = new LeanHistogram("h_seconds", "a help", ["endpoint", "stream"], BOUNDS, lean)
    const prom = new Prom.Histogram({ name: "h_seconds", help: "a help", labelNames: ["endpoint", "stream"], buckets: BOUNDS, registers: [reference] })
    for (const [endpoint, stream, value] of observations) {
      histogram.labels(endpoint, stream).observe(value)
      prom.labels(endpoint, stream).observe(value)
    }
    expect(await lean.metrics()).toEqual(await reference.metrics())
    expect(await lean.getMetricsAsJSON()).toEqual(await reference.getMetricsAsJSON())
    histogram.remove("a", "true")
    prom.remove("a", "true")
    expect(await lean.metrics()).toEqual(await reference.metrics())
  })))

  it("exports an unlabelled histogram's zeros before any observation, as prom-client does", async () => {
    const lean = new Prom.Registry()
    const reference = new Prom.Registry()
    new LeanHistogram("o_seconds", "help", [], BOUNDS, lean).labels()
    new Prom.Histogram({ name: "o_seconds", help: "help", buckets: BOUNDS, registers: [reference] })
    expect(await lean.metrics()).toEqual(await reference.metrics())
  })
})
