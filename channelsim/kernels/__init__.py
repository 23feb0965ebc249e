"""numba kernels: the hot loop. They import nothing from the rest of the package and read no
module globals (a cached kernel would freeze them): every parameter is an argument."""
