"""eBPFsentinel application layer."""
