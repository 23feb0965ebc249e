"""The HDF5 run file: what a run records (layout), writer, reader."""
