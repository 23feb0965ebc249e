"""Independent references for the tests (written from the models' definitions, not from channelsim)."""
