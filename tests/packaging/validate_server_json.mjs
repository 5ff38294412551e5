// Checks MCP registry server.json files against the rules of the registry's schema
// (https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json) and of the
// official registry, plus refcache's own: the version is refcache's, the one package is an MCP
// Bundle whose file name carries the program and the version.
//
//   node validate_server_json.mjs --version V [--bundles DIR] FILE...
//       every FILE must pass; with --bundles, each mcpb package's fileSha256 must be the
//       SHA-256 of DIR/<the identifier's file name>
//   node validate_server_json.mjs --version V --self-test FILE
//       FILE must pass and each of a list of broken copies of it must fail (the rules bite)
// Prints one line per file and exits 1 at the first file that fails.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { basename, join } from "node:path";

const SCHEMA = "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json";
const TOP_LEVEL = new Set(["$schema", "_meta", "name", "title", "description", "version",
  "websiteUrl", "repository", "icons", "packages", "remotes"]);
const PACKAGE_FIELDS = new Set(["registryType", "registryBaseUrl", "identifier", "version",
  "fileSha256", "runtimeHint", "transport", "runtimeArguments", "packageArguments",
  "environmentVariables"]);
const REGISTRY_TYPES = new Set(["npm", "pypi", "nuget", "oci", "mcpb"]);
const TRANSPORTS = new Set(["stdio", "streamable-http", "sse"]);

function isUri(s) {
  try {
    return Boolean(new URL(s).protocol);
  } catch {
    return false;
  }
}

// A specific version: not a range ('^1.2.3', '~1.2.3', '>=1.2.3', '1.x', '1.*') nor 'latest'.
function isSpecificVersion(v) {
  return typeof v === "string" && v.length > 0 && v !== "latest" && !/[\^~<>=*]|(^|\.)x(\.|$)/.test(v);
}

// The problems of `doc` (empty when it passes).
export function problems(doc, { version, bundles } = {}) {
  const out = [];
  const need = (cond, what) => {
    if (!cond) out.push(what);
  };
  need(doc && typeof doc === "object" && !Array.isArray(doc), "the document is not an object");
  if (out.length) return out;
  for (const k of Object.keys(doc)) need(TOP_LEVEL.has(k), `unknown field "${k}"`);
  need(doc.$schema === SCHEMA, `$schema is not ${SCHEMA}`);
  for (const k of ["name", "description", "version"]) need(typeof doc[k] === "string", `"${k}" is required`);
  const name = String(doc.name ?? "");
  need(name.length >= 3 && name.length <= 200, "name: 3 to 200 characters");
  need(/^[a-zA-Z0-9.-]+\/[a-zA-Z0-9._-]+$/.test(name), "name: reverse-DNS namespace, one '/', server name");
  const desc = String(doc.description ?? "");
  need(desc.length >= 1 && desc.length <= 100, `description: 1 to 100 characters (has ${desc.length})`);
  if (doc.title !== undefined) {
    need(typeof doc.title === "string" && doc.title.length >= 1 && doc.title.length <= 100,
      "title: 1 to 100 characters");
  }
  need(isSpecificVersion(doc.version) && doc.version.length <= 255, "version: a specific version, not a range");
  if (version !== undefined) need(doc.version === version, `version ${doc.version} is not refcache's ${version}`);
  if (doc.websiteUrl !== undefined) need(isUri(doc.websiteUrl), "websiteUrl: a URI");
  if (doc.repository !== undefined) {
    need(isUri(doc.repository?.url) && typeof doc.repository?.source === "string",
      "repository: url (a URI) and source are required");
  }
  need(Array.isArray(doc.packages) && doc.packages.length > 0, "packages: a non-empty list");
  const mcpb = [];
  for (const [i, p] of (Array.isArray(doc.packages) ? doc.packages : []).entries()) {
    const at = `packages[${i}]`;
    if (!p || typeof p !== "object") {
      out.push(`${at}: not an object`);
      continue;
    }
    for (const k of Object.keys(p)) need(PACKAGE_FIELDS.has(k), `${at}: unknown field "${k}"`);
    need(REGISTRY_TYPES.has(p.registryType), `${at}: registryType is not one of ${[...REGISTRY_TYPES]}`);
    need(typeof p.identifier === "string" && p.identifier.length > 0, `${at}: identifier is required`);
    const t = p.transport;
    need(t && TRANSPORTS.has(t.type), `${at}: transport.type is not one of ${[...TRANSPORTS]}`);
    if (t && t.type !== "stdio") need(typeof t.url === "string", `${at}: transport ${t.type} needs a url`);
    if (p.version !== undefined) {
      need(isSpecificVersion(p.version), `${at}: version is not a specific version`);
      need(p.version === doc.version, `${at}: version ${p.version} is not the server's ${doc.version}`);
    }
    if (["npm", "pypi", "nuget"].includes(p.registryType)) need(p.version !== undefined, `${at}: version is required`);
    if (p.fileSha256 !== undefined) need(/^[a-f0-9]{64}$/.test(p.fileSha256), `${at}: fileSha256 is not 64 hex digits`);
    if (p.registryType === "mcpb") {
      mcpb.push(p);
      const id = String(p.identifier ?? "");
      need(/^https:\/\/(github\.com|gitlab\.com)\//.test(id) && isUri(id),
        `${at}: an MCP Bundle's identifier is a GitHub or GitLab release URL`);
      need(id.includes("mcp"), `${at}: an MCP Bundle's identifier must contain "mcp"`);
      need(p.fileSha256 !== undefined, `${at}: an MCP Bundle needs fileSha256`);
      need(t?.type === "stdio", `${at}: an MCP Bundle runs over stdio`);
      // refcache's: <program>-<version>-linux-x64.mcpb under the release tag v<version>, the
      // program named like the server.
      const program = name.split("/")[1] ?? "";
      need(id.endsWith(`/v${doc.version}/${program}-${doc.version}-linux-x64.mcpb`),
        `${at}: identifier does not end with /v${doc.version}/${program}-${doc.version}-linux-x64.mcpb`);
      if (bundles !== undefined && p.fileSha256 !== undefined) {
        const file = join(bundles, basename(id));
        let sha = "";
        try {
          sha = createHash("sha256").update(readFileSync(file)).digest("hex");
        } catch (e) {
          out.push(`${at}: cannot read the bundle ${file}: ${e.message}`);
        }
        if (sha) need(sha === p.fileSha256, `${at}: fileSha256 ${p.fileSha256} is not ${file}'s ${sha}`);
      }
    }
  }
  need(mcpb.length === 1, `one MCP Bundle package expected, found ${mcpb.length}`);
  return out;
}

// Broken copies of a valid document, each of which must fail.
function breakages(doc) {
  const copy = () => structuredClone(doc);
  const cases = [];
  const add = (what, f) => {
    const d = copy();
    f(d);
    cases.push([what, d]);
  };
  add("name without a namespace", (d) => (d.name = "refcache-calculator"));
  add("name with two slashes", (d) => (d.name = "io.github.a/b/c"));
  add("description of 101 characters", (d) => (d.description = "x".repeat(101)));
  add("no description", (d) => delete d.description);
  add("a version range", (d) => (d.version = "^" + d.version));
  add("another version", (d) => (d.version = "9.9.9"));
  add("snake_case field", (d) => (d.packages[0].file_sha256 = d.packages[0].fileSha256));
  add("no fileSha256", (d) => delete d.packages[0].fileSha256);
  add("short fileSha256", (d) => (d.packages[0].fileSha256 = "abc"));
  add("no transport", (d) => delete d.packages[0].transport);
  add("unknown transport", (d) => (d.packages[0].transport = { type: "websocket" }));
  add("unknown registryType", (d) => (d.packages[0].registryType = "deb"));
  add("identifier off GitHub", (d) => (d.packages[0].identifier = d.packages[0].identifier.replace("github.com", "example.com")));
  add("package version latest", (d) => (d.packages[0].version = "latest"));
  add("no packages", (d) => (d.packages = []));
  add("old schema", (d) => (d.$schema = SCHEMA.replace("2025-12-11", "2025-07-09")));
  return cases;
}

const args = process.argv.slice(2);
let version;
let bundles;
let selfTest = false;
const files = [];
for (let i = 0; i < args.length; ++i) {
  if (args[i] === "--version") version = args[++i];
  else if (args[i] === "--bundles") bundles = args[++i];
  else if (args[i] === "--self-test") selfTest = true;
  else files.push(args[i]);
}
if (files.length === 0 || version === undefined) {
  console.error("usage: validate_server_json.mjs --version V [--bundles DIR] [--self-test] FILE...");
  process.exit(2);
}
for (const file of files) {
  let doc;
  try {
    doc = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    console.error(`FAIL: ${file}: ${e.message}`);
    process.exit(1);
  }
  const found = problems(doc, { version, bundles });
  if (found.length) {
    console.error(`FAIL: ${file}:\n  ${found.join("\n  ")}`);
    process.exit(1);
  }
  console.log(`ok: ${file}${bundles !== undefined ? " (fileSha256 matches the bundle)" : ""}`);
  if (selfTest) {
    for (const [what, broken] of breakages(doc)) {
      if (problems(broken, { version, bundles }).length === 0) {
        console.error(`FAIL: ${file} with ${what} passes`);
        process.exit(1);
      }
    }
    console.log(`ok: ${file}: ${breakages(doc).length} broken copies are each refused`);
  }
}
