"""The bottom layer: errors, the output-column schema, data paths and the walking-network types.

Everything else may import from here; this package imports nothing of the
project outside itself.
"""
