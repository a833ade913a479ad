"""Pillar P, privacy preservation: does the synthetic table leak the training patients?

Engines: ``neighbours`` (nearest-neighbour distances between tables) and ``attacks``
(singling out, linkability and attribute inference, after Giomi et al. 2023); ``verdict``
reads the P metrics together in plain words.
"""
