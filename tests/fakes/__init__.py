"""Fakes of services that cannot run here, speaking their real protocols."""
