// Runs an unpacked MCP Bundle the way a host application does: the command, arguments and
// environment come from the bundle's manifest.json through the mcpb library's own
// getMcpConfigForManifest (${__dirname} and ${user_config.*} substituted, the manifest's
// defaults under the given user configuration), then an MCP session over stdio: initialize,
// tools/list (every tool the manifest lists must be offered) and one tools/call.
//
//   node mcpb_host.mjs DIR USER_CONFIG_JSON TOOL ARGUMENTS_JSON
// Prints the command line it ran to stderr and the tools/call result (JSON) to stdout; exits
// 1 on any failure, with the reason. Bounded: 30 s for the whole session.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { getMcpConfigForManifest } from "@anthropic-ai/mcpb";

const [dir, userConfigText, tool, argumentsText] = process.argv.slice(2);
const fail = (why) => {
  console.error(`FAIL: ${why}`);
  process.exit(1);
};
if (!argumentsText) fail("usage: mcpb_host.mjs DIR USER_CONFIG_JSON TOOL ARGUMENTS_JSON");

const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
const config = await getMcpConfigForManifest({
  manifest,
  extensionPath: dir,
  systemDirs: { HOME: homedir() },
  userConfig: JSON.parse(userConfigText),
  pathSeparator: "/",
  logger: console,
});
if (!config) fail("the manifest gives no server command (required user configuration missing?)");
if (!config.command.startsWith(dir + "/") || !existsSync(config.command)) {
  fail(`the command ${config.command} is not a file of the bundle`);
}
const left = [config.command, ...(config.args ?? [])].filter((a) => a.includes("${"));
if (left.length) fail(`unsubstituted variables: ${left.join(" ")}`);
console.error(`mcpb_host: ${config.command} ${(config.args ?? []).join(" ")}`);

// The host's environment, without a library path of ours: the bundle's own env must suffice.
const env = { ...process.env };
delete env.LD_LIBRARY_PATH;
Object.assign(env, config.env ?? {});
const child = spawn(config.command, config.args ?? [], { env, stdio: ["pipe", "pipe", "pipe"] });
let stderr = "";
child.stderr.on("data", (d) => {
  stderr += d;
  if (stderr.length > 20000) stderr = stderr.slice(-20000);
});
const timer = setTimeout(() => {
  child.kill("SIGKILL");
  fail(`no answer within 30 s; the server's stderr:\n${stderr}`);
}, 30000);
child.on("exit", (code, signal) => {
  if (!done) fail(`the server exited (${code ?? signal}) mid-session; its stderr:\n${stderr}`);
});

let done = false;
const waiting = new Map();
let buffer = "";
child.stdout.on("data", (d) => {
  buffer += d;
  let nl;
  while ((nl = buffer.indexOf("\n")) >= 0) {
    const line = buffer.slice(0, nl).trim();
    buffer = buffer.slice(nl + 1);
    if (!line) continue;
    const msg = JSON.parse(line);
    if (msg.id !== undefined && waiting.has(msg.id)) {
      waiting.get(msg.id)(msg);
      waiting.delete(msg.id);
    }
  }
});
let nextId = 1;
const send = (msg) => child.stdin.write(JSON.stringify({ jsonrpc: "2.0", ...msg }) + "\n");
const request = (method, params) =>
  new Promise((resolve) => {
    const id = nextId++;
    waiting.set(id, (msg) => {
      if (msg.error) fail(`${method}: ${JSON.stringify(msg.error)}`);
      resolve(msg.result);
    });
    send({ id, method, params });
  });

const init = await request("initialize", {
  protocolVersion: "2025-11-25",
  capabilities: {},
  clientInfo: { name: "mcpb-host-test", version: "1" },
});
if (init.serverInfo?.version !== manifest.version) {
  fail(`the server reports version ${init.serverInfo?.version}, the manifest ${manifest.version}`);
}
send({ method: "notifications/initialized" });
const offered = new Set((await request("tools/list", {})).tools.map((t) => t.name));
for (const t of manifest.tools ?? []) {
  if (!offered.has(t.name)) fail(`the manifest lists ${t.name}, the server offers ${[...offered]}`);
}
if (!manifest.tools_generated) {
  const listed = new Set((manifest.tools ?? []).map((t) => t.name));
  const unlisted = [...offered].filter((n) => !listed.has(n));
  if (unlisted.length) fail(`the server offers tools the manifest does not list: ${unlisted}`);
}
const result = await request("tools/call", { name: tool, arguments: JSON.parse(argumentsText) });
done = true;
clearTimeout(timer);
child.stdin.end();
console.log(JSON.stringify(result));
