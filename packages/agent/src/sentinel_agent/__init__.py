"""eBPFsentinel agent: composition root, REST API, CLI and the daemon entry point."""

__version__ = "0.1.0"
