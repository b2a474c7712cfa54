"""The runtime: the engine (time, retries, status), worker processes, stop signals, per-sweep resources."""
