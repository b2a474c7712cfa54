"""prober's benchmark: a loopback fleet, prober and its peers on the same targets, one table."""
