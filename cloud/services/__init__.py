"""services of the cloud control plane."""
