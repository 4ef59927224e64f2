"""Protocol probes: each opens its own connection, speaks one protocol, returns ServiceInfo or None."""
