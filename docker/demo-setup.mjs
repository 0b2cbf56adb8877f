// The compose `demo` profile's one-shot: waits until the balancer answers /health, then registers the simulated
// upstreams as connected endpoints through the admin API. Endpoints that already exist (by name) are left as they
// are, so running it again after a restart changes nothing. Exits 0 when every endpoint is there.
//   LB_URL            the balancer (default http://load-balancer:8090)
//   LB_ADMIN_TOKEN    its admin token
//   DEMO_ENDPOINTS    a JSON array of endpoints as POST /admin/api/endpoints takes them
//   DEMO_WAIT_SECONDS how long to wait for the balancer (default 120)
const url = (process.env.LB_URL ?? "http://load-balancer:8090").replace(/\/+$/, "")
const token = process.env.LB_ADMIN_TOKEN ?? ""
const waitSeconds = Number(process.env.DEMO_WAIT_SECONDS ?? "120")

const fail = (message) => {
  process.stderr.write(`demo-setup: ${message}\n`)
  process.exit(1)
}

let endpoints
try {
  endpoints = JSON.parse(process.env.DEMO_ENDPOINTS ?? "")
} catch {
  fail("DEMO_ENDPOINTS must be a JSON array of endpoints")
}
if (!Array.isArray(endpoints) || endpoints.some((e) => typeof e?.name !== "string")) fail("every entry of DEMO_ENDPOINTS needs a name")
if (token === "") fail("LB_ADMIN_TOKEN is empty")

const admin = async (method, path, body) => {
  const response = await fetch(`${url}/admin/api${path}`, {
    method,
    headers: { "x-admin-token": token, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(10_000)
  })
  const text = await response.text()
  if (!response.ok) fail(`${method} ${path} answered ${response.status}: ${text}`)
  return text === "" ? undefined : JSON.parse(text)
}

const deadline = Date.now() + waitSeconds * 1000
for (;;) {
  const healthy = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.ok, () => false)
  if (healthy) break
  if (Date.now() > deadline) fail(`${url}/health did not answer 200 within ${waitSeconds} s`)
  await new Promise((resolve) => setTimeout(resolve, 1_000))
}

const existing = new Set((await admin("GET", "/endpoints")).map((e) => e.name.toLowerCase()))
for (const endpoint of endpoints) {
  if (existing.has(endpoint.name.toLowerCase())) {
    process.stdout.write(`demo-setup: ${endpoint.name} already registered\n`)
    continue
  }
  const created = await admin("POST", "/endpoints", { connected: true, ...endpoint })
  process.stdout.write(`demo-setup: registered ${created.name} -> ${created.base_url}\n`)
}
