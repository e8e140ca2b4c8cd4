"""What kanri does: registering machines, power control, the power-state sync loop."""
