"""eBPFsentinel testkit layer."""
