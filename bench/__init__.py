"""Benchmarks of mlpserve against its peers: training, engine and HTTP (`python -m bench`)."""
