/**
 * deploy/kubernetes without a cluster (no kubectl or kubeconform here): every manifest parsed, the fields each
 * kind requires present, and the contracts of a two-replica deployment checked against the balancer's own
 * sources, the image docker-compose.yml builds and each other.
 */
import { describe, expect, it } from "@effect/vitest"
import { readdirSync } from "node:fs"
import { join } from "node:path"
import { parse, parseAllDocuments } from "yaml"
import { compose, dockerfile, drainTimeoutDefault, envNamesReadBy, read, ROOT, stageEnv } from "./support/Repo.js"

const DIR = "deploy/kubernetes"
type Manifest = Record<string, any>

/** Every document of a folder's kustomization resources, each tagged with the file it came from. */
const kustomize = (dir: string): ReadonlyArray<Manifest & { file: string }> =>
  (parse(read(`${dir}/kustomization.yaml`)).resources as Array<string>).flatMap((resource) =>
    resource === ".."
      ? kustomize(dir.slice(0, dir.lastIndexOf("/")))
      : parseAllDocuments(read(`${dir}/${resource}`)).map((doc) => {
        if (doc.errors.length > 0) throw new Error(`${dir}/${resource}: ${doc.errors.join("; ")}`)
        return { ...doc.toJS(), file: `${dir}/${resource}` }
      })
  )

const main = kustomize(DIR)
const tryIt = kustomize(`${DIR}/try-it`)
const one = (manifests: ReadonlyArray<Manifest>, kind: string, name: string) => {
  const found = manifests.filter((m) => m["kind"] === kind && m["metadata"]?.name === name)
  expect(found, `${kind} ${name}`).toHaveLength(1)
  return found[0]!
}
const deployment = one(main, "Deployment", "llmlb-balancer")
const pod = deployment["spec"].template
const container = pod.spec.containers.find((c: Manifest) => c["name"] === "balancer")
const configMap = one(main, "ConfigMap", "llmlb-config")
const secret = one(main, "Secret", "llmlb-secrets")
const lbReads = envNamesReadBy("apps/balancer/src", /^(LB|OTEL)_/)
const { services } = compose()

/** The apiVersion each kind we use is served at by Kubernetes 1.25 and later. */
const API_VERSIONS: Record<string, string> = {
  ConfigMap: "v1",
  Secret: "v1",
  Service: "v1",
  Deployment: "apps/v1",
  StatefulSet: "apps/v1",
  PodDisruptionBudget: "policy/v1"
}
const podSpecOf = (m: Manifest) => m["spec"]?.template?.spec
const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v)
const containerPort = (c: Manifest, port: string | number) =>
  c["ports"].find((p: Manifest) => p["name"] === port || p["containerPort"] === port)?.containerPort

describe("deploy/kubernetes", () => {
  it("lists every manifest of each folder in its kustomization, and nothing that is not there", () => {
    for (const dir of [DIR, `${DIR}/try-it`]) {
      const files = readdirSync(join(ROOT, dir)).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml")
      const listed = (parse(read(`${dir}/kustomization.yaml`)).resources as Array<string>).filter((r) => r !== "..")
      expect(listed.sort(), dir).toEqual(files.sort())
    }
  })

  it("gives every object a known kind at its stable apiVersion, a DNS-1123 name and the fields its kind requires", () => {
    for (const m of [...main, ...tryIt]) {
      const where = `${m.file}: ${m["kind"]} ${m["metadata"]?.name}`
      expect(API_VERSIONS[m["kind"]], where).toBe(m["apiVersion"])
      expect(m["metadata"].name, where).toMatch(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/)
      if (m["kind"] === "ConfigMap") for (const v of Object.values(m["data"])) expect(typeof v, where).toBe("string")
      if (m["kind"] === "Secret") {
        expect(m["type"], where).toBe("Opaque")
        for (const v of Object.values(m["stringData"])) expect(typeof v, where).toBe("string")
      }
      if (m["kind"] === "Service") {
        for (const p of m["spec"].ports) expect(Number.isInteger(p.port) && p.port > 0 && p.port < 65536, where).toBe(true)
      }
      const podSpec = podSpecOf(m)
      if (podSpec !== undefined) {
        // A workload's selector must select its own pods, or the API server refuses it.
        expect(matches(m["spec"].selector.matchLabels, m["spec"].template.metadata.labels), where).toBe(true)
        expect(podSpec.containers.length, where).toBeGreaterThan(0)
        for (const c of podSpec.containers) {
          expect(c.name, where).toMatch(/^[a-z0-9-]+$/)
          expect(c.image, where).toBeTruthy()
          // Every mount names a volume of the pod (or of the StatefulSet's claims).
          const volumes = [...(podSpec.volumes ?? []), ...(m["spec"].volumeClaimTemplates ?? []).map((v: Manifest) => v["metadata"])]
          for (const mount of c.volumeMounts ?? []) expect(volumes.map((v: Manifest) => v["name"]), where).toContain(mount.name)
        }
      }
    }
  })

  it("runs 2 replicas that roll one at a time without dropping below 2 ready", () => {
    expect(deployment["spec"].replicas).toBe(2)
    expect(deployment["spec"].strategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } })
  })

  it("runs the image that docker-compose.yml builds from the balancer's Dockerfile", () => {
    const [repository] = container.image.split(":")
    const built = services["load-balancer"]!
    expect(`${built["build"].dockerfile}#${built["build"].target}`).toBe("docker/balancer.Dockerfile#balancer")
    expect(built["image"].split(":")[0]).toBe(repository)
    expect(parse(read(`${DIR}/kustomization.yaml`)).images).toEqual([{ name: repository, newTag: "local" }])
  })

  it("probes readiness, liveness and startup with GET /health on the balancer's container port", () => {
    const port = Number(configMap["data"].LB_PORT)
    expect(port).toBe(Number(stageEnv(dockerfile("docker/balancer.Dockerfile").stages.get("balancer")!)["LB_PORT"]))
    for (const probe of ["readinessProbe", "livenessProbe", "startupProbe"]) {
      expect(container[probe].httpGet.path, probe).toBe("/health")
      expect(containerPort(container, container[probe].httpGet.port), probe).toBe(port)
    }
  })

  it("gives a stopping pod longer than the preStop pause plus the drain timeout, and never restarts it while it drains", () => {
    const drain = Number(configMap["data"].LB_DRAIN_TIMEOUT_SECONDS)
    expect(drain).toBe(drainTimeoutDefault())
    const preStop: Array<string> = container.lifecycle.preStop.exec.command
    expect(preStop[0]).toBe("sleep")
    const pause = Number(preStop[1])
    expect(pod.spec.terminationGracePeriodSeconds).toBeGreaterThan(pause + drain)
    // /health is 503 for the whole drain: liveness must outlast it.
    const liveness = container.livenessProbe
    expect(liveness.periodSeconds * liveness.failureThreshold).toBeGreaterThan(pause + drain)
  })

  it("keeps a replica up through voluntary disruptions", () => {
    const pdb = one(main, "PodDisruptionBudget", "llmlb-balancer")
    expect(pdb["spec"].minAvailable).toBe(1)
    expect(matches(pdb["spec"].selector.matchLabels, pod.metadata.labels)).toBe(true)
  })

  it("serves the API and the editor through Services that select the pods' named port, the editor's sticky per client", () => {
    const api = one(main, "Service", "llmlb-balancer")
    const admin = one(main, "Service", "llmlb-balancer-admin")
    for (const service of [api, admin]) {
      expect(matches(service["spec"].selector, pod.metadata.labels)).toBe(true)
      expect(service["spec"].ports.map((p: Manifest) => containerPort(container, p["targetPort"]))).toEqual([Number(configMap["data"].LB_PORT)])
    }
    expect(api["spec"].sessionAffinity).toBeUndefined()
    expect(admin["spec"].sessionAffinity).toBe("ClientIP")
  })

  it("requests and limits CPU and memory, the Node heap below the memory limit", () => {
    const { requests, limits } = container.resources
    for (const r of [requests, limits]) expect(Object.keys(r).sort()).toEqual(["cpu", "memory"])
    const mebibytes = (q: string) => Number(/^(\d+)Mi$/.exec(q)![1])
    expect(mebibytes(requests.memory)).toBeLessThanOrEqual(mebibytes(limits.memory))
    const heap = /--max-old-space-size=(\d+)/.exec(container.env.find((e: Manifest) => e["name"] === "NODE_OPTIONS").value)
    expect(Number(heap![1])).toBeLessThan(mebibytes(limits.memory))
  })

  it("runs as the image's unprivileged user on a read-only root, writing only to an emptyDir /tmp", () => {
    const nodeUser = /^USER (\S+)$/m.exec(read("docker/balancer.Dockerfile"))
    expect(nodeUser![1]).toBe("node")
    expect(pod.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } })
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: 1000,
      capabilities: { drop: ["ALL"] }
    })
    expect(container.volumeMounts).toEqual([{ name: "tmp", mountPath: "/tmp" }])
    expect(pod.spec.volumes).toEqual([{ name: "tmp", emptyDir: { sizeLimit: "64Mi" } }])
    expect(pod.spec.automountServiceAccountToken).toBe(false)
  })

  it("reads its settings from the ConfigMap and its secrets from the Secret, every name one the balancer reads", () => {
    expect(container.envFrom).toEqual([{ configMapRef: { name: "llmlb-config" } }, { secretRef: { name: "llmlb-secrets" } }])
    const names = [...Object.keys(configMap["data"]), ...Object.keys(secret["stringData"]), ...container.env.map((e: Manifest) => e["name"])]
    for (const name of names.filter((n) => n !== "NODE_OPTIONS")) expect(lbReads, name).toContain(name)
    expect(Object.keys(secret["stringData"]).sort()).toEqual(["LB_ADMIN_TOKEN", "LB_CLIENT_TOKENS", "LB_DATABASE_URL", "LB_REDIS_URL"])
    // Nothing secret in the ConfigMap.
    for (const name of Object.keys(configMap["data"])) expect(name, name).not.toMatch(/TOKEN|PASSWORD|_URL$/)
    expect(new URL(secret["stringData"].LB_DATABASE_URL).protocol).toBe("postgres:")
    expect(new URL(secret["stringData"].LB_REDIS_URL).protocol).toBe("redis:")
    expect(configMap["data"].LB_REDIS_FAILURE).toMatch(/^(open|closed)$/)
  })

  it("names each replica after its pod", () => {
    expect(container.env.find((e: Manifest) => e["name"] === "LB_REPLICA_ID")).toEqual({
      name: "LB_REPLICA_ID",
      valueFrom: { fieldRef: { fieldPath: "metadata.name" } }
    })
  })
})

describe("deploy/kubernetes/try-it", () => {
  const tryItSecret = one(tryIt, "Secret", "llmlb-try-it")["stringData"]
  /** A Service of try-it and the one container behind it. */
  const backing = (name: string) => {
    const service = one(tryIt, "Service", name)
    const workload = tryIt.find((m) => podSpecOf(m) !== undefined && matches(service["spec"].selector, m["spec"].template.metadata.labels))!
    const [c] = podSpecOf(workload).containers
    return { service, workload, container: c, port: service["spec"].ports[0] }
  }
  const envValue = (c: Manifest, name: string) => c["env"].find((e: Manifest) => e["name"] === name)

  it("adds one PostgreSQL StatefulSet and one Redis to the balancer's folder", () => {
    expect(tryIt.filter((m) => m.file.startsWith(`${DIR}/try-it/`)).map((m) => `${m["kind"]} ${m["metadata"].name}`).sort()).toEqual([
      "Deployment llmlb-redis",
      "Secret llmlb-try-it",
      "Service llmlb-postgres",
      "Service llmlb-redis",
      "StatefulSet llmlb-postgres"
    ])
    expect(tryIt.filter((m) => m.file.startsWith(`${DIR}/try-it/`) === false)).toEqual(main)
  })

  it("is reached at the Secret's LB_DATABASE_URL with the user, database and password PostgreSQL creates", () => {
    const { container: pg, port, workload } = backing("llmlb-postgres")
    const url = new URL(secret["stringData"].LB_DATABASE_URL)
    expect(`${url.hostname}:${url.port}`).toBe(`llmlb-postgres:${port.port}`)
    expect(containerPort(pg, port.targetPort)).toBe(5432)
    expect(decodeURIComponent(url.username)).toBe(envValue(pg, "POSTGRES_USER").value)
    expect(url.pathname).toBe(`/${envValue(pg, "POSTGRES_DB").value}`)
    expect(envValue(pg, "POSTGRES_PASSWORD").valueFrom.secretKeyRef).toEqual({ name: "llmlb-try-it", key: "POSTGRES_PASSWORD" })
    expect(decodeURIComponent(url.password)).toBe(tryItSecret.POSTGRES_PASSWORD)
    expect(workload["kind"]).toBe("StatefulSet")
    expect(pg.image).toBe(services["postgres"]!["image"])
  })

  it("is reached at the Secret's LB_REDIS_URL with the password Redis requires", () => {
    const { container: redis, port } = backing("llmlb-redis")
    const url = new URL(secret["stringData"].LB_REDIS_URL)
    expect(`${url.hostname}:${url.port}`).toBe(`llmlb-redis:${port.port}`)
    expect(containerPort(redis, port.targetPort)).toBe(6379)
    const args: Array<string> = redis.args
    expect(args[args.indexOf("--requirepass") + 1]).toBe("$(REDIS_PASSWORD)")
    expect(envValue(redis, "REDIS_PASSWORD").valueFrom.secretKeyRef).toEqual({ name: "llmlb-try-it", key: "REDIS_PASSWORD" })
    expect(decodeURIComponent(url.password)).toBe(tryItSecret.REDIS_PASSWORD)
    expect(redis.image).toBe(services["redis"]!["image"])
  })

  it("runs both non-root on a read-only root with requests and limits, PostgreSQL writing only to its volume and emptyDirs", () => {
    for (const name of ["llmlb-postgres", "llmlb-redis"]) {
      const { container: c, workload } = backing(name)
      expect(podSpecOf(workload).securityContext.runAsNonRoot, name).toBe(true)
      expect(podSpecOf(workload).securityContext.runAsUser, name).toBeGreaterThan(0)
      expect(c.securityContext, name).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } })
      expect(Object.keys(c.resources.requests).sort(), name).toEqual(["cpu", "memory"])
      expect(Object.keys(c.resources.limits).sort(), name).toEqual(["cpu", "memory"])
    }
    const { container: pg, workload } = backing("llmlb-postgres")
    expect(pg.volumeMounts.map((m: Manifest) => m["mountPath"]).sort()).toEqual(["/tmp", "/var/lib/postgresql/data", "/var/run/postgresql"])
    // Below the volume's root, which may hold lost+found.
    expect(envValue(pg, "PGDATA").value).toMatch(/^\/var\/lib\/postgresql\/data\/.+/)
    expect(workload["spec"].volumeClaimTemplates[0].metadata.name).toBe("data")
  })
})
