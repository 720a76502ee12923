"""The daemon: the one process that holds the keys and decides (ASGI app, admin socket, serve loop)."""
