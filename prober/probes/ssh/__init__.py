"""The SSH probe kind: shared connections, known_hosts at fleet scale, commands and built-in host checks."""
