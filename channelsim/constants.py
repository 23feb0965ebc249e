"""Physical constants in SI units (CODATA 2018 exact values, SI redefinition of 2019)."""

ELEMENTARY_CHARGE = 1.602176634e-19  # C
AVOGADRO = 6.02214076e23  # 1/mol
BOLTZMANN = 1.380649e-23  # J/K
FARADAY = ELEMENTARY_CHARGE * AVOGADRO  # C/mol
GAS_CONSTANT = BOLTZMANN * AVOGADRO  # J/(mol K)
ZERO_CELSIUS = 273.15  # K

#: Permeant ions in the order used by every array and the HDF5 `ion` dimension.
IONS = ("K", "Na", "Cl", "Ca")
VALENCE = {"K": 1, "Na": 1, "Cl": -1, "Ca": 2}

#: The largest random seed: the kernels take the seed as a 64-bit signed integer (one type, so
#: that numba compiles and caches one kernel).
MAX_SEED = 2**63 - 1
