"""Peer servers for the HTTP benchmark, each serving the same weights with the same forward pass."""
