"""eBPFsentinel infrastructure layer."""
