"""eBPFsentinel ports: one abstract role per module; adapters and fakes implement them."""
