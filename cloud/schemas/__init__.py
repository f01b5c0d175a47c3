"""schemas of the cloud control plane."""
