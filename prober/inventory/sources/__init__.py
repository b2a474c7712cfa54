"""Inventory sources besides prober's own YAML: Ansible inventories (prober.inventory.sources.ansible)."""
