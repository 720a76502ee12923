"""The TUI's screens: approvals, tokens, audit, help, and the modals they open."""
