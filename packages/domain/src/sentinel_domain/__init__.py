"""eBPFsentinel domain: pure engines and value objects (standard library only, no I/O).

Import the engine you need, e.g. ``from sentinel_domain.firewall import FirewallEngine``.
Nothing here reads clocks, files or sockets: time and data come in as arguments.
"""
