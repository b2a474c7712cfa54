"""Peer sweeps the bench compares prober with: each a script printing one JSON line of counts."""
