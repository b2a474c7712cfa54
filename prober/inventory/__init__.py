"""Inventory input: the only package that reads YAML."""

from prober.inventory.loader import (
    Defaults,
    GroupDef,
    HostDecl,
    Inventory,
    ProbeDef,
    load_inventory,
)

__all__ = ["Defaults", "GroupDef", "HostDecl", "Inventory", "ProbeDef", "load_inventory"]
