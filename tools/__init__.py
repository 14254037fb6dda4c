"""Build, generation and architecture-checking helpers (not shipped)."""
