"""EKS control-plane answers moto leaves out or gets wrong (see :mod:`.extension`)."""
