"""socialrisk: social infrastructure access and isolation risk for small areas."""

__version__ = "0.1.0"
