"""The host integrations, one package each (``things/``, ``gpg/``), wired into the daemon through the seam in
:mod:`mcp_server.integration` and listed in :mod:`mcp_server.composition`.

Each package turns its ``tools/*`` domain code into MCP tool specs (scope, prepared request, approval summary)
and the seed's REST routes. No integration imports another, and the daemon's core imports none of them.
"""
