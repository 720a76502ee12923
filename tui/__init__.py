"""The Textual TUI of agent-auth: live approvals, token families, audit tail. Talks to the admin API only."""

from tui.app import AgentAuthApp
from tui.backend import AdminBackend, SocketBackend

__all__ = ["AdminBackend", "AgentAuthApp", "SocketBackend"]
