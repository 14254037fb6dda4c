"""Alert senders and sinks."""
