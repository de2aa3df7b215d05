"""What pages show beside a service's answer, shared by more than one page module."""
