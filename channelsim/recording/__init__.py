"""The HDF5 run file (DESIGN.md section 6): layout, writer, reader."""
