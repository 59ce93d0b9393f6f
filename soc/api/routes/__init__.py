"""Area routers. Each module exposes ``router``; ``soc.api.app`` mounts those present."""
