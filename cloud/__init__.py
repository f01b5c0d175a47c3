"""frugalstack.cloud: the operators' control plane (FastAPI), installed with the ``cloud`` extra."""
