"""The HTTP(S) probe kind: request, redirects followed by prober, decoded body, certificate expiry."""
