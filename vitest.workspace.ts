// The test projects: every package and app is one project named after its package.json; docker/ tests the
// deployment files.
export default ["packages/*", "apps/*", "docker"]
