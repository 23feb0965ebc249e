"""The compartments of a cable: where each lies, its membrane, volume and axial coupling (SI units).

A cable is a cylinder of `diameter` cut into compartments of about `segment_length`. With
[cell.myelin] it is a chain that starts and ends with a node of Ranvier (`node_length`, one
compartment) with myelinated internodes (`internode_length`, cut into segments) between the
nodes; the chain holds as many whole node-internode periods as fit in `length`. The ends are
sealed: no current leaves through them, and their end caps carry no membrane.

Neighbours are coupled through the cytoplasm between their centres:
g = 1 / (R_a ((l_i + l_j) / 2) / (pi d^2 / 4)) (the cable equation's axial term, Rall 1977,
Handbook of Physiology, The Nervous System I, ch. 3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CableGeometry:
    """Per-compartment arrays of a cable (length C), and the axial conductance to the next one (C - 1)."""

    position: np.ndarray  # m, centre of each compartment from the start of the cable
    length: np.ndarray  # m
    area: np.ndarray  # m^2, lateral membrane
    volume: np.ndarray  # m^3
    specific_capacitance: np.ndarray  # F/m^2
    node: np.ndarray  # bool: a node of Ranvier (with myelin), or every compartment (without)
    axial_conductance: np.ndarray  # S, between compartment i and i + 1

    @property
    def capacitance(self) -> np.ndarray:
        """Membrane capacitance of each compartment (F)."""
        return self.specific_capacitance * self.area

    def in_region(self, region: str) -> np.ndarray:
        """Mask of the compartments of a channel entry's `region` (node, internode or all)."""
        if region == "all":
            return np.ones(len(self.length), dtype=bool)
        return self.node if region == "node" else ~self.node

    def nearest(self, position_m: float) -> int:
        """Index of the compartment whose centre is nearest `position_m` (m)."""
        return int(np.argmin(np.abs(self.position - position_m)))


def segment_lengths(length: float, segment_length: float) -> np.ndarray:
    """Cut `length` into equal segments of about `segment_length` (at least one)."""
    count = max(1, round(length / segment_length))
    return np.full(count, length / count)


def cable_geometry(cell) -> CableGeometry:
    """Geometry of a `shape = "cable"` cell (a `channelsim.config.schema.Cell`)."""
    myelin = cell.myelin
    if myelin is None:
        lengths = segment_lengths(cell.length, cell.segment_length)
        node = np.ones(len(lengths), dtype=bool)
        specific = np.full(len(lengths), cell.specific_capacitance)
    else:
        period = myelin.node_length + myelin.internode_length
        nodes = math.floor((cell.length - myelin.node_length) / period * (1 + 1e-12)) + 1
        internode = segment_lengths(myelin.internode_length, cell.segment_length)
        pieces = [np.array([myelin.node_length])]
        flags = [np.array([True])]
        for _ in range(nodes - 1):
            pieces += [internode, np.array([myelin.node_length])]
            flags += [np.zeros(len(internode), dtype=bool), np.array([True])]
        lengths, node = np.concatenate(pieces), np.concatenate(flags)
        specific = np.where(node, cell.specific_capacitance, myelin.specific_capacitance)
    cross_section = math.pi * cell.diameter**2 / 4
    position = np.cumsum(lengths) - lengths / 2
    axial = cross_section / (cell.axial_resistivity * (lengths[:-1] + lengths[1:]) / 2)
    return CableGeometry(position=position, length=lengths, area=math.pi * cell.diameter * lengths,
                         volume=cross_section * lengths, specific_capacitance=specific, node=node,
                         axial_conductance=axial)
