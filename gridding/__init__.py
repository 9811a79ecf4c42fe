"""Pure-Python geometry for grid governance: no Django import in this package.

Used by `gridgov.areas` services and by the demo generator.
"""
