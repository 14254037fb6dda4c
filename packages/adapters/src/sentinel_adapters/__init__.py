"""eBPFsentinel adapters layer."""
