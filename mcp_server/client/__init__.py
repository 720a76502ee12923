"""Client side of agent-auth: stored credentials, token refresh, small stdlib HTTP calls.

Kept free of heavy imports: ``agent-auth token header`` and ``agent-auth-gpg`` start on every
reconnect / commit.
"""
