"""A simulated fleet on loopback: HTTP, TCP and SSH servers on distinct 127.x.y.z addresses."""

from prober.sim.fleet import Fleet, Role

__all__ = ["Fleet", "Role"]
