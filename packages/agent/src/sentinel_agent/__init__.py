"""eBPFsentinel agent layer."""
