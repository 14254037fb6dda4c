"""eBPF adapter: the only code that loads programs, touches maps and knows kernel ABI bytes."""
