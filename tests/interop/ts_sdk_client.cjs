// Drives agent-auth through the TypeScript MCP SDK (@modelcontextprotocol/sdk), as the MCP Inspector and
// Claude Code do. Reads one JSON job on stdin, prints one JSON line per call on stdout.
//   job: {"sdkDir": DIR, "transport": "http"|"stdio", "url", "token", "command", "args", "env",
//         "calls": [[name, args], ...]}
// The client lists tools first, so callTool validates each structuredContent against the tool's
// outputSchema with ajv and ajv-formats (a mismatch is -32602 "Structured content does not match…").
'use strict';
const { createRequire } = require('node:module');
const path = require('node:path');

async function main() {
  const job = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
  const sdk = createRequire(path.join(job.sdkDir, 'package.json'));
  const { Client } = sdk('@modelcontextprotocol/sdk/client/index.js');
  let transport;
  if (job.transport === 'stdio') {
    const { StdioClientTransport } = sdk('@modelcontextprotocol/sdk/client/stdio.js');
    transport = new StdioClientTransport({ command: job.command, args: job.args, env: job.env, stderr: 'pipe' });
  } else {
    const { StreamableHTTPClientTransport } = sdk('@modelcontextprotocol/sdk/client/streamableHttp.js');
    transport = new StreamableHTTPClientTransport(new URL(job.url), {
      requestInit: { headers: { Authorization: `Bearer ${job.token}` } },
    });
  }
  const client = new Client({ name: 'agent-auth-interop', version: '0' });
  await client.connect(transport);
  const out = (line) => process.stdout.write(JSON.stringify(line) + '\n');
  const server = client.getServerVersion();
  const listed = await client.listTools();
  out({ listed: listed.tools.map((t) => t.name), server });
  for (const [name, args] of job.calls) {
    try {
      const result = await client.callTool({ name, arguments: args });
      out({ name, ok: true, isError: result.isError === true, structuredContent: result.structuredContent ?? null,
            text: (result.content || []).map((c) => c.text || '').join(' ') });
    } catch (error) {
      out({ name, ok: false, code: error.code ?? null, error: String(error.message || error) });
    }
  }
  await client.close();
}

main().catch((error) => {
  process.stderr.write(`ts_sdk_client: ${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
