"""Internals of the Ansible inventory reader; the public API is prober.inventory.sources.ansible."""
