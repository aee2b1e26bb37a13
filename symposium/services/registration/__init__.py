"""A registration: what it must contain (validation), places (capacity, quotas, waiting
list), its life (lifecycle: register, switch, cancel) and its personal links."""
