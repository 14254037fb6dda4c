"""Network policy shared by the adapters that open outgoing connections."""
