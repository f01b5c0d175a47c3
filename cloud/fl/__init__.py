"""Federated learning in the cloud: the Flower ServerApp, its strategies, the privacy accountant, runners.

Heavy imports (flwr, ray) happen inside the modules that need them; importing this package is cheap.
"""
