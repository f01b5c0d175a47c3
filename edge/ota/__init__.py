"""Over-the-air updates on the device: verify signed manifests and artifacts, swap atomically, roll back."""
