"""The public API of the service-discovery readers, which the inventory's `sources:` will build on."""

from __future__ import annotations

import dataclasses

from prober.inventory.sources import file_sd, http_sd, sd


class TestPublicAPI:
    def test_exports(self) -> None:
        """The entry points and the neutral result types, pinned."""
        assert file_sd.__all__ == ["load_file_sd"]
        assert http_sd.__all__ == ["fetch_http_sd", "load_http_sd"]
        assert sd.__all__ == ["SDGroup", "SDHost", "SDInventory", "split_target"]

    def test_result_types_are_frozen(self) -> None:
        """SDHost, SDGroup and SDInventory are frozen dataclasses with these fields."""
        fields = {
            cls: [f.name for f in dataclasses.fields(cls)] for cls in (sd.SDHost, sd.SDGroup, sd.SDInventory)
        }
        assert fields[sd.SDHost] == [
            "name",
            "address",
            "port",
            "labels",
            "meta",
            "group",
            "target",
            "source",
            "line",
            "key",
        ]
        assert fields[sd.SDGroup] == ["name", "hosts"]
        assert fields[sd.SDInventory] == ["sources", "groups"]
        assert all(cls.__dataclass_params__.frozen for cls in fields)  # type: ignore[attr-defined]
