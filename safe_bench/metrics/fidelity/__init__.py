"""Pillar S, statistical fidelity: do the synthetic columns look like the real ones?"""
