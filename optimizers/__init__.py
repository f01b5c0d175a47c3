"""frugalstack.optimizers: one checkpoint to every edge format and quantization."""
