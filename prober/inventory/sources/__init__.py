"""Inventory sources besides prober's own YAML: Ansible inventories (ansible), Prometheus file_sd and
http_sd (file_sd, http_sd; their shared target-group reading and result in sd)."""
