// The test projects: every package and app is one project named after its package.json.
export default ["packages/*", "apps/*"]
