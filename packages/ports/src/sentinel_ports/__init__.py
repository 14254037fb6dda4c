"""eBPFsentinel ports layer."""
