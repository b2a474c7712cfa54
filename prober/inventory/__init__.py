"""Inventory input: the only package that reads YAML (the loader: prober.inventory.loader).

Nothing is imported here: the registry and the probe kinds import `fields` from this package, and the
loader imports the registry (its key tables), so loading the loader with the package is an import cycle.
"""
