import { describe, expect, it } from "@effect/vitest"
import { existsSync } from "node:fs"
import { join } from "node:path"
import { parse } from "yaml"
import {
  compose,
  dockerfile,
  drainTimeoutDefault,
  envFile,
  envNamesReadBy,
  healthcheckCommand,
  interpolatedNames,
  read,
  ROOT,
  serviceEnv,
  stageEnv
} from "./support/Repo.js"
import { find, parseNginx } from "./support/Nginx.js"

const env = envFile(".env.example")
const { services, networks, volumes } = compose()
const lbReads = envNamesReadBy("apps/balancer/src", /^(LB|OTEL)_/)
const lpReads = envNamesReadBy("apps/producer/src", /^LP_/)

const CORE = ["load-balancer", "load-producer", "nginx"]
const MONITORING = ["prometheus", "grafana"]
const DEMO = ["sim-fast", "sim-medium", "sim-slow", "demo-setup"]
const REPLICAS = ["balancer-1", "balancer-2"]
const SCALE = ["postgres", "redis", ...REPLICAS, "nginx-scale"]
/** Every service that runs the balancer's image. */
const BALANCERS = ["load-balancer", ...REPLICAS]
const ONE_SHOT = new Set(["demo-setup"])

/** The image stage a compose service builds, when it builds one of ours. */
const builtStage = (name: string) => {
  const build = services[name]!["build"]
  return build === undefined ? undefined : dockerfile(build.dockerfile).stages.get(build.target)
}

const seconds = (duration: string) => {
  const match = /^(\d+)s$/.exec(duration)
  if (!match) throw new Error(`not a duration in seconds: ${duration}`)
  return Number(match[1])
}

const ipv4 = (address: string) => address.split(".").reduce((n, octet) => n * 256 + Number(octet), 0)
const inSubnet = (address: string, cidr: string) => {
  const [base, bits] = cidr.split("/")
  const mask = Number(bits) === 0 ? 0 : (0xffffffff << (32 - Number(bits))) >>> 0
  return ((ipv4(address) & mask) >>> 0) === ((ipv4(base!) & mask) >>> 0)
}

describe("docker-compose.yml", () => {
  it("runs the balancer, the producer and nginx by default, monitoring, demo and scale services only in their profiles", () => {
    expect(Object.keys(services).sort()).toEqual([...CORE, ...MONITORING, ...DEMO, ...SCALE].sort())
    for (const name of CORE) expect(services[name]!["profiles"], name).toBeUndefined()
    for (const name of MONITORING) expect(services[name]!["profiles"], name).toEqual(["monitoring"])
    for (const name of DEMO) expect(services[name]!["profiles"], name).toEqual(["demo"])
    for (const name of SCALE) expect(services[name]!["profiles"], name).toEqual(["scale"])
  })

  it("hardens every service: no privilege gain, no capabilities, read-only root with a tmpfs /tmp, 512 MB, rotated JSON logs", () => {
    for (const [name, service] of Object.entries(services)) {
      expect(service["security_opt"], name).toContain("no-new-privileges:true")
      expect(service["cap_drop"], name).toEqual(["ALL"])
      expect(service["read_only"], name).toBe(true)
      expect(service["tmpfs"], name).toContain("/tmp")
      expect(service["deploy"]?.resources?.limits?.memory, name).toBe("512M")
      expect(service["logging"], name).toEqual({ driver: "json-file", options: { "max-size": "10m", "max-file": "3" } })
      expect(service["restart"], name).toBe(ONE_SHOT.has(name) ? "no" : "unless-stopped")
    }
  })

  it("gives every long-running service a healthcheck, ours the same command as their image's HEALTHCHECK", () => {
    for (const [name, service] of Object.entries(services)) {
      if (ONE_SHOT.has(name)) {
        expect(service["healthcheck"], name).toEqual({ disable: true })
        continue
      }
      expect(service["healthcheck"]?.interval, name).toMatch(/^\d+s$/)
      expect(service["healthcheck"].test?.[0], name).toBe("CMD")
      const stage = builtStage(name)
      if (stage !== undefined) expect(service["healthcheck"].test.slice(1), name).toEqual(healthcheckCommand(stage))
    }
  })

  it("builds the balancer, the producer and the simulator from stages that exist", () => {
    const built = Object.entries(services).filter(([, s]) => s["build"] !== undefined)
    expect(Object.fromEntries(built.map(([name, s]) => [name, `${s["build"].dockerfile}#${s["build"].target}`]))).toEqual({
      "load-balancer": "docker/balancer.Dockerfile#balancer",
      "balancer-1": "docker/balancer.Dockerfile#balancer",
      "balancer-2": "docker/balancer.Dockerfile#balancer",
      "load-producer": "docker/producer.Dockerfile#producer",
      "sim-fast": "docker/balancer.Dockerfile#upstream-sim",
      "sim-medium": "docker/balancer.Dockerfile#upstream-sim",
      "sim-slow": "docker/balancer.Dockerfile#upstream-sim",
      "demo-setup": "docker/balancer.Dockerfile#upstream-sim"
    })
    for (const [name, service] of built) {
      expect(service["build"].context, name).toBe(".")
      expect(builtStage(name), name).toBeDefined()
    }
  })

  it("pins every third-party image to a version", () => {
    for (const [name, service] of Object.entries(services)) {
      if (service["build"] !== undefined) continue
      // PostgreSQL's releases have two numbers (17.6); everything else three.
      const version = name === "postgres" ? /^postgres:\d+\.\d+-[a-z0-9.]+$/ : /^[a-z0-9./-]+:v?\d+\.\d+\.\d+(-[a-z0-9.]+)?$/
      expect(service["image"], name).toMatch(version)
    }
  })

  it("publishes nginx on HTTP_PORT and the apps on the loopback only", () => {
    expect(services["nginx"]!["ports"]).toEqual([`${env.set.get("HTTP_PORT")}:8080`])
    expect(read("docker/nginx/nginx.conf")).toMatch(/^\s*listen 8080;$/m)
    expect(services["load-balancer"]!["ports"]).toEqual(["127.0.0.1:8090:8090"])
    expect(services["load-producer"]!["ports"]).toEqual(["127.0.0.1:8088:8088"])
    expect(serviceEnv(services["load-balancer"]!)["LB_PORT"]).toBe("8090")
    expect(serviceEnv(services["load-producer"]!)["LP_PORT"]).toBe("8088")
    for (const name of MONITORING) {
      for (const port of services[name]!["ports"]) expect(port, name).toMatch(/^127\.0\.0\.1:/)
    }
  })

  it("keeps each app's database on its named volume at the path the image sets", () => {
    const apps = [
      ["load-balancer", "balancer-data", "LB_DB_PATH", "/data/load_balancer.db"],
      ["load-producer", "producer-data", "LP_DB_PATH", "/data/load_producer.db"]
    ] as const
    for (const [name, volume, variable, path] of apps) {
      const service = services[name]!
      expect(service["volumes"], name).toEqual([`${volume}:/data`])
      expect(volumes).toHaveProperty(volume)
      expect(serviceEnv(service)[variable], name).toBe(path)
      expect(stageEnv(builtStage(name)!)[variable], name).toBe(path)
    }
  })

  it.each([
    ...BALANCERS.map((name) => [name, lbReads] as const),
    ["load-producer", lpReads]
  ] as const)("passes %s only variables it reads, and every one it reads that the image does not fix", (name, reads) => {
    const set = serviceEnv(services[name]!)
    const fixedByImage = Object.keys(stageEnv(builtStage(name)!))
    for (const variable of Object.keys(set).filter((n) => n !== "NODE_OPTIONS")) expect(reads, variable).toContain(variable)
    for (const variable of reads) {
      if (!fixedByImage.includes(variable)) {
        expect(Object.keys(set), `${variable} is new: list it in docker-compose.yml (${name}, environment) and .env.example`)
          .toContain(variable)
      }
    }
  })

  it("points the producer's new cards at the balancer through the compose network", () => {
    const base = new URL(serviceEnv(services["load-producer"]!)["LP_DEFAULT_BASE_URL"]!)
    expect(services).toHaveProperty(base.hostname)
    expect(`${base.hostname}:${base.port}${base.pathname}`).toBe("load-balancer:8090/v1")
  })

  it("makes the balancer trust X-Forwarded-For from nginx's fixed address alone, inside the compose subnet", () => {
    const nginxAddress = services["nginx"]!["networks"].llmlb.ipv4_address
    const subnet = networks["llmlb"].ipam.config[0].subnet
    expect(serviceEnv(services["load-balancer"]!)["LB_TRUSTED_PROXIES"]).toBe(nginxAddress)
    expect(inSubnet(nginxAddress, subnet)).toBe(true)
    expect(read("docker/nginx/nginx.conf")).toContain("include /etc/nginx/llmlb-common.conf;")
    expect(read("docker/nginx/common.conf")).toContain("proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;")
  })

  it.each(BALANCERS)("waits longer than the balancer's drain timeout before killing %s", (name) => {
    const grace = seconds(services[name]!["stop_grace_period"])
    expect(grace).toBeGreaterThan(drainTimeoutDefault())
    expect(grace).toBeGreaterThan(Number(env.set.get("LB_DRAIN_TIMEOUT_SECONDS")))
    expect(services[name]!["stop_signal"]).toBe("SIGTERM")
  })

  it("refuses to start without the admin and producer tokens", () => {
    const withoutTokens = new Map([...env.set].filter(([name]) => name !== "LB_ADMIN_TOKEN" && name !== "LP_TOKEN"))
    expect(() => compose(withoutTokens)).toThrow(/LB_ADMIN_TOKEN|LP_TOKEN/)
  })

  it("starts nginx after both apps are healthy, the producer after the balancer", () => {
    expect(services["nginx"]!["depends_on"]).toEqual({
      "load-balancer": { condition: "service_healthy" },
      "load-producer": { condition: "service_healthy" }
    })
    expect(services["load-producer"]!["depends_on"]).toEqual({ "load-balancer": { condition: "service_healthy" } })
  })
})

describe(".env.example", () => {
  it("sets or documents every variable docker-compose.yml reads", () => {
    const text = read("docker-compose.yml")
    const passedThrough = Object.values(services).flatMap((s) =>
      Object.entries(serviceEnv(s)).filter(([, value]) => value === null).map(([name]) => name)
    )
    for (const name of [...interpolatedNames(text), ...passedThrough]) expect(env.all, name).toContain(name)
  })

  it("names only variables that the apps or the compose file read", () => {
    const composeNames = interpolatedNames(read("docker-compose.yml"))
    for (const name of env.all) {
      expect(lbReads.has(name) || lpReads.has(name) || composeNames.has(name), name).toBe(true)
    }
  })

  it("marks the admin token as the one to change", () => {
    const text = read(".env.example")
    expect(text).toMatch(/CHANGE[^\n]*\n(#[^\n]*\n)*LB_ADMIN_TOKEN=change-me/)
    // The balancer's own default, which it warns about at every start.
    const fallback = /DEFAULT_ADMIN_TOKEN = "([^"]+)"/.exec(read("apps/balancer/src/Config.ts"))
    expect(env.set.get("LB_ADMIN_TOKEN")).toBe(fallback![1])
    expect(env.set.get("LP_TOKEN")).toMatch(/^change-me/)
  })

  it("is not ignored by git, while .env is", () => {
    expect(read(".gitignore")).toMatch(/^\.env$/m)
    expect(read(".dockerignore")).toMatch(/^\.env$/m)
  })
})

describe("the monitoring profile", () => {
  it("scrapes the balancer's /metrics on the compose network", () => {
    const prometheus = services["prometheus"]!
    expect(prometheus["volumes"]).toContain("./docker/prometheus.yml:/etc/prometheus/prometheus.yml:ro")
    expect(prometheus["command"]).toContain("--config.file=/etc/prometheus/prometheus.yml")
    const config = parse(read("docker/prometheus.yml"))
    const job = config.scrape_configs.find((j: any) => j.job_name === "llm-load-balancer")
    expect(job.metrics_path).toBe("/metrics")
    expect(job.static_configs[0].targets).toEqual([`load-balancer:${serviceEnv(services["load-balancer"]!)["LB_PORT"]}`])
  })

  it("provisions Grafana with the Prometheus service as default data source and the balancer's dashboard", () => {
    const grafana = services["grafana"]!
    const mounts = new Map<string, string>(grafana["volumes"].map((v: string) => {
      const [source, target] = v.split(":")
      return [target!, source!]
    }))
    expect(mounts.get("/etc/grafana/provisioning")).toBe("./docker/grafana/provisioning")

    const datasources = parse(read("docker/grafana/provisioning/datasources/prometheus.yml")).datasources
    expect(datasources).toEqual([expect.objectContaining({ type: "prometheus", url: "http://prometheus:9090", isDefault: true })])
    expect(services).toHaveProperty("prometheus")

    const [provider] = parse(read("docker/grafana/provisioning/dashboards/llm-load-balancer.yml")).providers
    const dashboardPath = `${provider.options.path}/llm-load-balancer.json`
    const dashboardSource = mounts.get(dashboardPath)
    expect(dashboardSource).toBe("./docker/grafana/llm-load-balancer.json")
    expect(existsSync(join(ROOT, dashboardSource!))).toBe(true)
    const dashboard = JSON.parse(read("docker/grafana/llm-load-balancer.json"))
    expect(dashboard.templating.list).toContainEqual(expect.objectContaining({ type: "datasource", query: "prometheus" }))
  })
})

describe("the demo profile", () => {
  it("wires the three simulators to the balancer once they and the balancer are healthy", () => {
    const setup = services["demo-setup"]!
    const endpoints: Array<{ name: string; base_url: string }> = JSON.parse(serviceEnv(setup)["DEMO_ENDPOINTS"]!)
    expect(endpoints.map((e) => e.name)).toEqual(["sim-fast", "sim-medium", "sim-slow"])
    for (const endpoint of endpoints) {
      const url = new URL(endpoint.base_url)
      const sim = services[url.hostname]!
      expect(sim["command"]).toEqual(expect.arrayContaining(["--port", url.port, "--host", "0.0.0.0"]))
      expect(setup["depends_on"][url.hostname]).toEqual({ condition: "service_healthy" })
    }
    expect(setup["depends_on"]["load-balancer"]).toEqual({ condition: "service_healthy" })
    expect(new URL(serviceEnv(setup)["LB_URL"]!).host).toBe("load-balancer:8090")
    expect(setup["entrypoint"]).toEqual(["node", "demo-setup.mjs"])
  })
})

describe("the scale profile", () => {
  const postgres = services["postgres"]!
  const redis = services["redis"]!
  const nginxScale = services["nginx-scale"]!
  const replicaEnv = (name: string) => serviceEnv(services[name]!)
  /** `--flag value` of a command list. */
  const flag = (command: ReadonlyArray<string>, name: string) => command[command.indexOf(name) + 1]

  it("runs two replicas of the balancer's image with distinct replica ids and otherwise the single balancer's settings", () => {
    const single = serviceEnv(services["load-balancer"]!)
    const ids = REPLICAS.map((name) => replicaEnv(name)["LB_REPLICA_ID"])
    expect(new Set(ids).size).toBe(REPLICAS.length)
    for (const name of REPLICAS) {
      expect(services[name]!["image"], name).toBe(services["load-balancer"]!["image"])
      const own = new Set(["LB_REPLICA_ID", "LB_DATABASE_URL", "LB_REDIS_URL", "LB_TRUSTED_PROXIES"])
      const shared = Object.entries(replicaEnv(name)).filter(([variable]) => !own.has(variable))
      expect(Object.fromEntries(shared), name).toEqual(Object.fromEntries(Object.entries(single).filter(([v]) => !own.has(v))))
      expect(services[name]!["depends_on"], name).toEqual({
        postgres: { condition: "service_healthy" },
        redis: { condition: "service_healthy" }
      })
      // Reached through nginx-scale only.
      expect(services[name]!["ports"], name).toBeUndefined()
    }
  })

  it("points every replica at the one PostgreSQL with the user, password and database it creates", () => {
    const pg = serviceEnv(postgres)
    for (const name of REPLICAS) {
      const url = new URL(replicaEnv(name)["LB_DATABASE_URL"]!)
      expect(url.protocol, name).toBe("postgres:")
      expect(`${url.hostname}:${url.port}`, name).toBe("postgres:5432")
      expect(decodeURIComponent(url.username), name).toBe(pg["POSTGRES_USER"])
      expect(decodeURIComponent(url.password), name).toBe(pg["POSTGRES_PASSWORD"])
      expect(url.pathname, name).toBe(`/${pg["POSTGRES_DB"]}`)
    }
    expect(pg["POSTGRES_PASSWORD"]).toBe(env.set.get("POSTGRES_PASSWORD"))
  })

  it("points every replica at the one Redis with the password it requires", () => {
    const command: ReadonlyArray<string> = redis["command"]
    expect(command[0]).toBe("redis-server")
    for (const name of REPLICAS) {
      const url = new URL(replicaEnv(name)["LB_REDIS_URL"]!)
      expect(url.protocol, name).toBe("redis:")
      expect(`${url.hostname}:${url.port}`, name).toBe("redis:6379")
      expect(decodeURIComponent(url.password), name).toBe(flag(command, "--requirepass"))
    }
    expect(serviceEnv(redis)["REDISCLI_AUTH"]).toBe(flag(command, "--requirepass"))
    expect(flag(command, "--requirepass")).toBe(env.set.get("REDIS_PASSWORD"))
    // Limit windows last a minute: no snapshots, no append-only file, no volume.
    expect(flag(command, "--save")).toBe("")
    expect(flag(command, "--appendonly")).toBe("no")
    expect(redis["volumes"]).toBeUndefined()
  })

  it("runs PostgreSQL and Redis as their images' unprivileged users, PostgreSQL's cluster on its volume and its socket in a tmpfs", () => {
    expect(postgres["user"]).toBe("postgres")
    expect(redis["user"]).toBe("redis")
    expect(postgres["volumes"]).toEqual(["postgres-data:/var/lib/postgresql/data"])
    expect(volumes).toHaveProperty("postgres-data")
    expect(postgres["tmpfs"]).toEqual(["/tmp", "/var/run/postgresql"])
    const pg = serviceEnv(postgres)
    expect(postgres["healthcheck"].test).toEqual(["CMD", "pg_isready", "-h", "127.0.0.1", "-U", pg["POSTGRES_USER"], "-d", pg["POSTGRES_DB"]])
  })

  it("publishes nginx-scale on SCALE_HTTP_PORT with its own config and the shared settings, after both replicas are healthy", () => {
    expect(nginxScale["ports"]).toEqual([`${env.set.get("SCALE_HTTP_PORT")}:8080`])
    expect(nginxScale["volumes"]).toEqual([
      "./docker/nginx/scale.conf:/etc/nginx/nginx.conf:ro",
      "./docker/nginx/common.conf:/etc/nginx/llmlb-common.conf:ro"
    ])
    expect(nginxScale["image"]).toBe(services["nginx"]!["image"])
    expect(nginxScale["depends_on"]).toEqual(Object.fromEntries(REPLICAS.map((name) => [name, { condition: "service_healthy" }])))
  })

  it("makes the replicas trust X-Forwarded-For from nginx-scale's fixed address alone, inside the subnet and apart from nginx's", () => {
    const address = nginxScale["networks"].llmlb.ipv4_address
    const subnet = networks["llmlb"].ipam.config[0].subnet
    expect(inSubnet(address, subnet)).toBe(true)
    expect(address).not.toBe(services["nginx"]!["networks"].llmlb.ipv4_address)
    for (const name of REPLICAS) expect(replicaEnv(name)["LB_TRUSTED_PROXIES"], name).toBe(address)
  })

  it("lists exactly the replicas, on the balancer's port, in every upstream of scale.conf", () => {
    const http = find(parseNginx(read("docker/nginx/scale.conf")), "http")[0]!.block!
    const upstreams = find(http, "upstream")
    expect(upstreams.map((u) => u.args[0])).toEqual(["replicas", "replicas_by_client"])
    const replicas = REPLICAS.map((name) => `${name}:${replicaEnv(name)["LB_PORT"]}`)
    for (const upstream of upstreams) expect(find(upstream.block!, "server").map((d) => d.args[0]), upstream.args[0]).toEqual(replicas)
  })
})
